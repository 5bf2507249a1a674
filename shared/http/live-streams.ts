// The local server's live streams: how many are open (in all and per client address, each
// bounded), the counts they follow (LiveCounts: one subscription per counter, coalesced
// pushes), and the drain that ends them all.

import { type ChangeFeed, DEFAULT_LIVE_INTERVAL_MS, LiveCounts, type LiveHoldings } from "../domain/live.ts";
import { HttpError } from "./http-errors.ts";

export interface LiveLimits {
  /** A counter's pushes are at least this many ms apart (LIVE_INTERVAL_MS). */
  intervalMs: number;
  /** Streams open at once (LIVE_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Streams open at once from one client address (LIVE_MAX_PER_ADDRESS). */
  maxPerAddress: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  intervalMs: DEFAULT_LIVE_INTERVAL_MS,
  maxConnections: 10_000,
  maxPerAddress: 20,
};

/** A stream's place: released once, when the stream ends however it ends. */
export interface LiveLease {
  release(): void;
}

export class LiveStreams {
  readonly counts: LiveCounts;
  readonly limits: LiveLimits;
  private open = 0;
  private readonly byAddress = new Map<string, number>();
  /** Each open stream's way to end itself (the drain). */
  private readonly enders = new Set<() => void>();

  constructor(feed: ChangeFeed, limits: Partial<LiveLimits> = {}, now?: () => number) {
    this.limits = { ...DEFAULT_LIVE_LIMITS, ...limits };
    this.counts = new LiveCounts(feed, this.limits.intervalMs, now);
  }

  /**
   * A place for one more stream from `address`, or a 429 when the server's or the address's
   * streams are all taken. `end` is called if the server drains while the stream is open.
   */
  admit(address: string | undefined, end: () => void): LiveLease {
    const from = address ?? "unknown";
    const fromHere = this.byAddress.get(from) ?? 0;
    if (this.open >= this.limits.maxConnections) {
      throw new HttpError(429, `Too many live streams: this server holds ${this.limits.maxConnections}`, {
        headers: { "retry-after": "5" },
      });
    }
    if (fromHere >= this.limits.maxPerAddress) {
      throw new HttpError(
        429,
        `Too many live streams from one address: at most ${this.limits.maxPerAddress}`,
        {
          headers: { "retry-after": "5" },
        },
      );
    }
    this.open++;
    this.byAddress.set(from, fromHere + 1);
    this.enders.add(end);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.open--;
        const left = (this.byAddress.get(from) ?? 1) - 1;
        if (left > 0) this.byAddress.set(from, left);
        else this.byAddress.delete(from);
        this.enders.delete(end);
      },
    };
  }

  /** Ends every open stream (the server is draining: clients reconnect to another). */
  endAll(): void {
    for (const end of [...this.enders]) end();
  }

  /** What is held now: streams, addresses, and the counts' subscriptions, viewers and timers. */
  holdings(): LiveHoldings & { streams: number; addresses: number } {
    return { streams: this.open, addresses: this.byAddress.size, ...this.counts.holdings() };
  }
}
