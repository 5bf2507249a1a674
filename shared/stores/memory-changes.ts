// The memory store's change feed: its writes announce new counts to this process's listeners.

import type { ChangeFeed, CounterChange, Unwatch } from "../domain/live.ts";
import type { CounterKey } from "../domain/model.ts";

const idOf = (c: { resourceId: string; type: string }) => `${c.type}\n${c.resourceId}`;

export class MemoryChanges implements ChangeFeed {
  private readonly byCounter = new Map<string, Set<(count: number) => void>>();
  private readonly everything = new Set<(change: CounterChange) => void>();

  /** Tells the counter's listeners, and those of every counter, its new count: a listener that throws fails no write. */
  announce(change: CounterChange): void {
    for (const listener of this.byCounter.get(idOf(change)) ?? []) {
      try {
        listener(change.count);
      } catch {}
    }
    for (const listener of this.everything) {
      try {
        listener(change);
      } catch {}
    }
  }

  async watch(counter: CounterKey, onCount: (count: number) => void): Promise<Unwatch> {
    const id = idOf(counter);
    let listeners = this.byCounter.get(id);
    if (!listeners) {
      listeners = new Set();
      this.byCounter.set(id, listeners);
    }
    const mine = (count: number) => onCount(count);
    listeners.add(mine);
    return () => {
      listeners.delete(mine);
      if (listeners.size === 0 && this.byCounter.get(id) === listeners) this.byCounter.delete(id);
    };
  }

  async watchAll(onChange: (change: CounterChange) => void): Promise<Unwatch> {
    const mine = (change: CounterChange) => onChange(change);
    this.everything.add(mine);
    return () => this.everything.delete(mine);
  }

  /** Listeners held, for tests that prove a watcher that left leaves nothing. */
  get listenerCount(): number {
    let n = this.everything.size;
    for (const listeners of this.byCounter.values()) n += listeners.size;
    return n;
  }

  async close(): Promise<void> {
    this.byCounter.clear();
    this.everything.clear();
  }
}
