// The Redis and Upstash stores' change feed: the write scripts PUBLISH a counter's new count
// on the channel named as its key (lua/live.ts); this subscribes to the channels of the
// counters watched (or, for the AWS publisher, to the counters' key pattern), over one
// pub/sub connection opened on the first watch.

import { StoreUnavailableError } from "../domain/errors.ts";
import type { ChangeFeed, CounterChange, Unwatch } from "../domain/live.ts";
import type { CounterKey } from "../domain/model.ts";
import type { KeyLayout } from "./key-layout.ts";
import type { PubSub, PubSubOpener } from "./script-kernel.ts";

type Listener = (channel: string, count: number) => void;

/** A promise that fails with StoreUnavailableError past `timeoutMs`. */
async function within<T>(timeoutMs: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, late]);
  } catch (error) {
    throw new StoreUnavailableError(`the store did not take the subscription (${what})`, {
      cause: error,
      mayHaveApplied: false,
    });
  } finally {
    clearTimeout(timer);
  }
}

export function createScriptChanges(open: PubSubOpener, keys: KeyLayout, timeoutMs: number): ChangeFeed {
  /** Listeners by channel (or pattern), with the subscription that carries them. */
  const channels = new Map<string, { listeners: Set<Listener>; subscribed: Promise<void> }>();
  let pubsub: PubSub | undefined;
  const heard = (channel: string, message: string, viaPattern?: string) => {
    const count = Number(message);
    if (!Number.isSafeInteger(count)) return;
    // A listener that throws must not take the subscription (or the process) with it.
    for (const listener of channels.get(viaPattern ?? channel)?.listeners ?? []) {
      try {
        listener(channel, count);
      } catch {}
    }
  };
  const pattern = keys.counterPattern();
  const connection = (): PubSub => {
    pubsub ??= open(heard);
    return pubsub;
  };

  async function listen(channel: string, isPattern: boolean, listener: Listener): Promise<Unwatch> {
    let entry = channels.get(channel);
    if (!entry) {
      const subscribed = within(timeoutMs, "subscribe", connection().subscribe(channel, isPattern));
      entry = { listeners: new Set(), subscribed };
      channels.set(channel, entry);
    }
    const held = entry;
    held.listeners.add(listener);
    const stop = () => {
      held.listeners.delete(listener);
      if (held.listeners.size > 0 || channels.get(channel) !== held) return;
      channels.delete(channel);
      pubsub?.unsubscribe(channel, isPattern).catch(() => {});
    };
    try {
      await held.subscribed;
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  return {
    watch: (counter: CounterKey, onCount) =>
      listen(keys.counter(counter.resourceId, counter.type, counter.kind === "unique"), false, (_c, count) =>
        onCount(count),
      ),
    watchAll: (onChange: (change: CounterChange) => void) =>
      listen(pattern, true, (channel, count) => {
        const counter = keys.parseCounter(channel);
        if (counter) {
          const { resourceId, type, unique } = counter;
          onChange({ resourceId, type, kind: unique ? "unique" : "total", count });
        }
      }),
    async close() {
      channels.clear();
      await pubsub?.close();
      pubsub = undefined;
    },
  };
}
