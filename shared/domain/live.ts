// Live counts: what the store announces when a counter changes (ChangeFeed, a part of the
// store port), and LiveCounts, which shares one subscription per counter among all its
// viewers and pushes each counter's latest count at most once per interval, however hot it is.

import type { CounterKey } from "./model.ts";

/** Stops a subscription; safe to call twice. */
export type Unwatch = () => void;

/** A counter's new count, as announced by whichever process changed it. */
export interface CounterChange {
  resourceId: string;
  type: string;
  kind: CounterKey["kind"];
  count: number;
}

/**
 * New counts, announced by every write to the store (on Redis, by every process on it, in
 * the write's own script). Nothing is opened until the first watch.
 */
export interface ChangeFeed {
  /** Hears one counter's new counts; resolves once subscribed, so a change after that is heard. */
  watch(counter: CounterKey, onCount: (count: number) => void): Promise<Unwatch>;
  /** Hears every counter's new counts (the AWS publisher). */
  watchAll(onChange: (change: CounterChange) => void): Promise<Unwatch>;
  /** Closes whatever the feed opened. */
  close(): Promise<void>;
}

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

  constructor(
    private readonly feed: ChangeFeed,
    private readonly intervalMs: number = DEFAULT_LIVE_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

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
    const entry: Followed = { viewers: new Set(), lastPushAt: Number.NEGATIVE_INFINITY, subscribed: Promise.resolve() };
    entry.subscribed = this.feed.watch(counter, (count) => this.heard(entry, count)).then((unwatch) => {
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
