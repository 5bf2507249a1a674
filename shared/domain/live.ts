// Live counts: LiveCounts, over what the store announces when a counter changes (ChangeFeed,
// a part of the store port, model.ts), which shares one subscription per counter among all its
// viewers and pushes each counter's latest count at most once per interval, however hot it is.

import type { ChangeFeed, CounterKey, Unwatch } from "./model.ts";

export type { ChangeFeed, CounterChange, Unwatch } from "./model.ts";

/** The longest a push may wait: the interval a counter's pushes keep (LIVE_INTERVAL_MS). */
export const DEFAULT_LIVE_INTERVAL_MS = 1000;

type Viewer = (count: number) => void;

interface Followed {
  viewers: Set<Viewer>;
  /** The subscription, once made (it is being made while undefined). */
  unwatch?: Unwatch;
  subscribed: Promise<void>;
  /** The count heard last and not pushed yet. */
  pending?: number;
  lastPushAt: number;
  timer?: ReturnType<typeof setTimeout>;
}

const counterId = (c: CounterKey) => `${c.type}\n${c.resourceId}`;

/** What LiveCounts holds now: tests count it to prove a viewer that left leaves nothing. */
export interface LiveHoldings {
  counters: number;
  viewers: number;
  timers: number;
}

/**
 * One feed subscription per followed counter, whatever its viewers; every change heard is
 * coalesced: pushed at once when the counter's last push is an interval old, otherwise once
 * when the interval ends (the latest count only).
 */
export class LiveCounts {
  private readonly followed = new Map<string, Followed>();
  private readonly feed: ChangeFeed;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(feed: ChangeFeed, intervalMs = DEFAULT_LIVE_INTERVAL_MS, now: () => number = Date.now) {
    this.feed = feed;
    this.intervalMs = intervalMs;
    this.now = now;
  }

  /** Follows a counter; resolves once its changes are heard. The returned function stops. */
  async follow(counter: CounterKey, viewer: Viewer): Promise<Unwatch> {
    const id = counterId(counter);
    let entry = this.followed.get(id);
    if (!entry) entry = this.subscribe(id, counter);
    entry.viewers.add(viewer);
    try {
      await entry.subscribed;
    } catch (error) {
      this.leave(id, entry, viewer);
      throw error;
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.leave(id, entry, viewer);
    };
  }

  holdings(): LiveHoldings {
    let viewers = 0;
    let timers = 0;
    for (const entry of this.followed.values()) {
      viewers += entry.viewers.size;
      if (entry.timer) timers++;
    }
    return { counters: this.followed.size, viewers, timers };
  }

  private subscribe(id: string, counter: CounterKey): Followed {
    const entry: Followed = {
      viewers: new Set(),
      lastPushAt: Number.NEGATIVE_INFINITY,
      subscribed: Promise.resolve(),
    };
    entry.subscribed = this.feed
      .watch(counter, (count) => this.heard(entry, count))
      .then((unwatch) => {
        // Every viewer left while the subscription was being made.
        if (this.followed.get(id) !== entry) unwatch();
        else entry.unwatch = unwatch;
      });
    this.followed.set(id, entry);
    return entry;
  }

  private heard(entry: Followed, count: number): void {
    entry.pending = count;
    if (entry.timer) return;
    const wait = entry.lastPushAt + this.intervalMs - this.now();
    if (wait <= 0) this.push(entry);
    else entry.timer = setTimeout(() => this.push(entry), wait);
  }

  private push(entry: Followed): void {
    entry.timer = undefined;
    const count = entry.pending;
    if (count === undefined) return;
    entry.pending = undefined;
    entry.lastPushAt = this.now();
    for (const viewer of [...entry.viewers]) viewer(count);
  }

  private leave(id: string, entry: Followed, viewer: Viewer): void {
    entry.viewers.delete(viewer);
    if (entry.viewers.size > 0 || this.followed.get(id) !== entry) return;
    this.followed.delete(id);
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.unwatch?.();
  }
}
