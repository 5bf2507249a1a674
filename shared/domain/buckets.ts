// UTC calendar buckets for the hot ranking: which hour, day and ISO week an instant falls
// in, and when each bucket may expire (a little after its window closes). Writes go to the
// hour and the day buckets only; a week is the sum of its days, so a day bucket lives until
// its week is over.

import type { Period } from "./model.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface Bucket {
  /** Stable id, e.g. `h2026112600`, `d20261126`, `w2026W48`. */
  id: string;
  /** Epoch ms after which the bucket can be dropped: window end plus a margin. */
  expiresAt: number;
}

export type WindowPeriod = Exclude<Period, "all">;
/** The buckets a write adds to: the week is read as the sum of its days (daysOfWeek). */
export const WRITTEN_PERIODS = ["hour", "day"] as const satisfies readonly WindowPeriod[];

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

export function bucketOf(period: WindowPeriod, now: number): Bucket {
  if (period === "hour" && Math.floor(now / HOUR) === cachedHour && cached) return cached.hour;
  const d = new Date(now);
  const ymd = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  if (period === "hour") {
    const start = Math.floor(now / HOUR) * HOUR;
    return { id: `h${ymd}${pad(d.getUTCHours())}`, expiresAt: start + HOUR + 10 * 60_000 };
  }
  const dayStart = Math.floor(now / DAY) * DAY;
  // ISO week: Monday to Sunday; the week belongs to the year of its Thursday.
  const weekday = (d.getUTCDay() + 6) % 7;
  const monday = dayStart - weekday * DAY;
  // A day is kept while its week is read from it.
  if (period === "day") return { id: `d${ymd}`, expiresAt: monday + 7 * DAY + HOUR };
  const thursday = new Date(monday + 3 * DAY);
  const isoYear = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * DAY)) + 1;
  return { id: `w${isoYear}W${pad(week)}`, expiresAt: monday + 7 * DAY + HOUR };
}

export interface WindowBuckets {
  hour: Bucket;
  day: Bucket;
}

let cachedHour = Number.NaN;
let cached: WindowBuckets | undefined;

/** The hour and day buckets an instant's writes add to; computed once per UTC hour (hot path). */
export function windowBucketsAt(now: number): WindowBuckets {
  const hour = Math.floor(now / HOUR);
  if (hour !== cachedHour || !cached) {
    cached = { hour: bucketOf("hour", now), day: bucketOf("day", now) };
    cachedHour = hour;
  }
  return cached;
}

/** The days of the ISO week of an instant, Monday to that day, oldest first: what its week sums. */
export function daysOfWeek(now: number): string[] {
  const weekday = (new Date(now).getUTCDay() + 6) % 7;
  return Array.from({ length: weekday + 1 }, (_, i) => bucketOf("day", now - (weekday - i) * DAY).id);
}

/**
 * Every bucket that may still exist at an instant: the current and previous hour, the days of
 * this week and the last (each lives until its week is over, and a little past), and the
 * week buckets releases before the week's sum of days wrote. A reset clears a counter from these.
 */
export function liveBucketIds(now: number): string[] {
  const days = Array.from({ length: 8 }, (_, i) => bucketOf("day", now - i * DAY).id);
  const weeks = [bucketOf("week", now).id, bucketOf("week", now - 7 * DAY).id];
  return [bucketOf("hour", now).id, bucketOf("hour", now - HOUR).id, ...days, ...weeks];
}
