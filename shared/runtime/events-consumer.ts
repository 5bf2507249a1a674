// The consumer of queued events: each counter's events applied in one store call
// (coalesced), every counter of a batch at once; and the local server's loop over the
// store's own queue, which counts accepted events within about a second.

import { decodeEvents, groupByCounter } from "../domain/events.ts";
import type { CounterStore, QueuedEvent } from "../domain/model.ts";
import type { Logger } from "./logger.ts";

export interface AppliedEvents {
  /** Events new to their counter (applied or no-ops), over all groups that succeeded. */
  applied: number;
  /** The groups whose store call failed, with why: their events apply on a redelivery. */
  failed: { events: QueuedEvent[]; error: unknown }[];
}

/** Applies events per counter, all counters in parallel; a failed counter does not stop the others. */
export async function applyQueuedEvents(
  store: CounterStore,
  events: readonly QueuedEvent[],
  now: number,
): Promise<AppliedEvents> {
  const groups = groupByCounter(events);
  const settled = await Promise.allSettled(groups.map((group) => store.applyEvents(group, now)));
  const result: AppliedEvents = { applied: 0, failed: [] };
  settled.forEach((outcome, i) => {
    if (outcome.status === "fulfilled") result.applied += outcome.value;
    else result.failed.push({ events: groups[i] as QueuedEvent[], error: outcome.reason });
  });
  return result;
}

const TAKE = 200;

/**
 * The local server's consumer: takes up to 200 messages from the store's queue, applies
 * them, then removes them. A message is removed only once applied, so a crash in between
 * delivers it again, and the event ids make that count nothing twice. Unreadable messages
 * are logged and dropped.
 */
export function startLocalConsumer(
  store: CounterStore,
  logger: Logger,
  options: { intervalMs?: number; now?: () => number } = {},
): { stop(): Promise<void> } {
  const now = options.now ?? Date.now;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const drain = async () => {
    for (;;) {
      const messages = await store.eventQueue.peek(TAKE);
      if (messages.length === 0 || stopped) return;
      const events: QueuedEvent[] = [];
      const done: string[] = [];
      for (const m of messages) {
        try {
          events.push(...decodeEvents(m));
          done.push(m);
        } catch (error) {
          logger.error("unreadable events message dropped", { error, message: m.slice(0, 200) });
          done.push(m);
        }
      }
      const result = await applyQueuedEvents(store, events, now());
      if (result.failed.length > 0) {
        logger.warn("queued events not applied yet; retrying", {
          counters: result.failed.length,
          error: result.failed[0]?.error,
        });
        return;
      }
      await store.eventQueue.remove(done);
      if (messages.length < TAKE) return;
    }
  };
  const timer = setInterval(() => {
    running = running
      .then(drain)
      .catch((error: unknown) => logger.warn("event consumer: store unavailable", { error }));
  }, options.intervalMs ?? 200);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
