// The memory store's per-day history: each counter's net change by day, as the Redis
// scripts keep it (a hash of yyyymmdd -> change), at most `keep` days each.

import { type HistoryWindow, historyWindow } from "../domain/history.ts";

export class DayHistories {
  private readonly days = new Map<string, Map<number, number>>();

  constructor(private readonly keep: number) {}

  /**
   * Adds `delta` to the day of `at` (a write now, or a queued event accepted then). A day
   * before the first one kept is not recorded; past `keep` days the oldest are dropped.
   */
  record(counter: string, delta: number, at: number, now: number): void {
    if (delta === 0) return;
    const window = historyWindow(now, this.keep);
    const day = at === now ? window.day : historyWindow(at, this.keep).day;
    if (day < window.keepFrom) return;
    let days = this.days.get(counter);
    if (!days) {
      days = new Map();
      this.days.set(counter, days);
    }
    days.set(day, (days.get(day) ?? 0) + delta);
    if (days.size > this.keep) this.trim(days, window);
  }

  private trim(days: Map<number, number>, window: HistoryWindow): void {
    for (const day of days.keys()) if (day < window.keepFrom) days.delete(day);
  }

  /** A day's change (0 when none). */
  deltaOf(counter: string, day: number): number {
    return this.days.get(counter)?.get(day) ?? 0;
  }

  /** Every kept day of a counter (export), or undefined when it has none. */
  of(counter: string): ReadonlyMap<number, number> | undefined {
    const days = this.days.get(counter);
    return days && days.size > 0 ? new Map(days) : undefined;
  }

  /** Replaces a counter's history (import). */
  replace(counter: string, days: ReadonlyMap<number, number>): void {
    this.days.set(counter, new Map(days));
  }

  clear(counter: string): void {
    this.days.delete(counter);
  }
}
