// Per-day history of a counter: each UTC calendar day's net change, kept for at most
// HISTORY_DAYS days. A day is named by its date as a number (20261206), which is what the
// stores keep and compare; the API shows it as `2026-12-06`.

import type { CounterHistory, HistoryQuery } from "./model.ts";

export type { CounterHistory, HistoryQuery };

const DAY_MS = 24 * 60 * 60 * 1000;

/** Days of history each counter keeps (HISTORY_DAYS). */
export const DEFAULT_HISTORY_DAYS = 400;
/** The most days one history read asks for, and the default. */
export const MAX_HISTORY_QUERY_DAYS = 365;
export const DEFAULT_HISTORY_QUERY_DAYS = 30;

/** The UTC day an instant falls in, as yyyymmdd. */
export function dayOf(now: number): number {
  const d = new Date(now);
  return d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/** A day as the API shows it: `2026-12-06`. */
export function dateOf(day: number): string {
  const text = String(day);
  return `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
}

/** A date as the API shows it back to its day, or undefined when it is not one. */
export function dayFromDate(date: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return undefined;
  const day = Number(`${match[1]}${match[2]}${match[3]}`);
  return dateOf(dayOf(Date.parse(`${date}T00:00:00Z`))) === date ? day : undefined;
}

/** The `count` days ending with the day of `now`, oldest first. */
export function daysEnding(now: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => dayOf(now - (count - 1 - i) * DAY_MS));
}

/**
 * What a write tells the store about history: the day it lands on, the first day still
 * kept, and how many days are kept (past that, the days before `keepFrom` are dropped).
 */
export interface HistoryWindow {
  day: number;
  keepFrom: number;
  keep: number;
}

export function historyWindow(now: number, keep: number): HistoryWindow {
  return { day: dayOf(now), keepFrom: dayOf(now - (keep - 1) * DAY_MS), keep };
}

/** The days asked for, each with its change from `deltas` (by day) or 0. */
export function historyOf(
  query: HistoryQuery,
  count: number,
  deltas: (day: number) => number,
): CounterHistory {
  return {
    count,
    days: daysEnding(query.now, query.days).map((day) => ({ date: dateOf(day), delta: deltas(day) })),
  };
}
