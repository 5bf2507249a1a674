// UTC calendar buckets for the hot ranking: which hour, day and ISO week an instant falls
// in, and when each bucket may expire (a little after its window closes).

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
export const WINDOW_PERIODS: readonly WindowPeriod[] = ["hour", "day", "week"];

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
  if (period === "day") return { id: `d${ymd}`, expiresAt: dayStart + DAY + HOUR };
  // ISO week: Monday to Sunday; the week belongs to the year of its Thursday.
  const weekday = (d.getUTCDay() + 6) % 7;
  const monday = dayStart - weekday * DAY;
  const thursday = new Date(monday + 3 * DAY);
  const isoYear = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * DAY)) + 1;
  return { id: `w${isoYear}W${pad(week)}`, expiresAt: monday + 7 * DAY + HOUR };
}

export interface WindowBuckets {
  hour: Bucket;
  day: Bucket;
  week: Bucket;
}

let cachedHour = Number.NaN;
let cached: WindowBuckets | undefined;

/** The hour, day and week buckets of an instant; computed once per UTC hour (hot path). */
export function windowBucketsAt(now: number): WindowBuckets {
  const hour = Math.floor(now / HOUR);
  if (hour !== cachedHour || !cached) {
    cached = { hour: bucketOf("hour", now), day: bucketOf("day", now), week: bucketOf("week", now) };
    cachedHour = hour;
  }
  return cached;
}

const PERIOD_MS: Record<WindowPeriod, number> = { hour: HOUR, day: DAY, week: 7 * DAY };

/**
 * Every bucket that may still exist at an instant: the current hour, day and week, and the
 * previous ones (each lives a little past its window). A reset clears a counter from these.
 */
export function liveBucketIds(now: number): string[] {
  return WINDOW_PERIODS.flatMap((period) => [
    bucketOf(period, now).id,
    bucketOf(period, now - PERIOD_MS[period]).id,
  ]);
}
