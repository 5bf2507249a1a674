// The consumer of queued events: each counter's events applied in one store call
// (coalesced), every counter of a batch at once; and the local server's loop over the
// store's own queue, which counts accepted events within about a second.

import { decodeEvents, groupByCounter } from "../domain/events.ts";
import type { CounterStore, LocalEventQueue, QueuedEvent } from "../domain/model.ts";
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
/** Tries of a message whose counter keeps failing (a full counter), before it is dropped, logged. */
const MAX_ATTEMPTS = 5;
/** Polls of an idle queue back off to once a second: on Upstash each poll is a billed command. */
const IDLE_POLL_MS = 1000;

/**
 * One pass over the head of the store's queue: applies what it holds and removes the
 * messages whose events all applied. A message of a failing counter stays for the next pass,
 * up to MAX_ATTEMPTS, then is dropped with an error log (the local stand-in for SQS's
 * dead-letter queue), logged only once its removal went through. A message removed (applied or
 * dropped) is forgotten. Unreadable messages are logged and dropped. Returns messages taken.
 */
async function drainOnce(
  store: CounterStore,
  queue: LocalEventQueue,
  logger: Logger,
  now: number,
  attempts: Map<string, number>,
) {
  const messages = await queue.peek(TAKE);
  const owner = new Map<QueuedEvent, string>();
  const events: QueuedEvent[] = [];
  for (const m of messages) {
    try {
      for (const e of decodeEvents(m)) {
        owner.set(e, m);
        events.push(e);
      }
    } catch (error) {
      logger.error("unreadable events message dropped", { error, message: m.slice(0, 200) });
    }
  }
  const result = await applyQueuedEvents(store, events, now);
  const failing = new Set(result.failed.flatMap((f) => f.events.map((e) => owner.get(e) as string)));
  const dropping: string[] = [];
  for (const m of failing) {
    const tries = (attempts.get(m) ?? 0) + 1;
    attempts.set(m, tries);
    if (tries >= MAX_ATTEMPTS) {
      dropping.push(m);
      failing.delete(m);
    }
  }
  if (failing.size > 0) logger.warn("queued events not applied yet; retrying", { messages: failing.size });
  const removed = messages.filter((m) => !failing.has(m));
  // A store that refuses the removal keeps the messages: nothing was dropped, and a message
  // applied on a later pass must not have been logged as lost.
  await queue.remove(removed);
  for (const m of removed) attempts.delete(m);
  for (const m of dropping) {
    logger.error("queued events dropped after repeated failures", {
      message: m,
      error: result.failed[0]?.error,
    });
  }
  return messages.length;
}

/**
 * The local server's consumer: drains the local event queue into the store every 200 ms while it holds events,
 * backing off to once a second when idle. A message is removed only once applied, so a
 * crash in between delivers it again, and the event ids make that count nothing twice.
 */
export function startLocalConsumer(
  store: CounterStore,
  queue: LocalEventQueue,
  logger: Logger,
  options: { intervalMs?: number; now?: () => number } = {},
): { stop(): Promise<void>; flush(deadline: number): Promise<boolean>; retrying(): number } {
  const now = options.now ?? Date.now;
  const busyMs = options.intervalMs ?? 200;
  const attempts = new Map<string, number>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = (delay: number) => {
    timer = setTimeout(() => {
      running = drainOnce(store, queue, logger, now(), attempts).then(
        (taken) => {
          if (stopped) return;
          tick(taken >= TAKE ? 0 : taken > 0 ? busyMs : Math.min(delay * 2, IDLE_POLL_MS));
        },
        (error: unknown) => {
          logger.warn("event consumer: store unavailable", { error });
          if (!stopped) tick(IDLE_POLL_MS);
        },
      );
    }, delay);
    timer.unref();
  };
  tick(busyMs);
  const stop = async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
  return {
    stop,
    /**
     * Stops the loop and applies what the queue still holds, pass after pass, until a pass
     * sees the whole queue (what stays then is failing, and waits in a shared store for the
     * next process) or `deadline` (epoch ms) passes, or the store fails. True when the last pass saw it all.
     */
    async flush(deadline: number) {
      await stop();
      try {
        while (Date.now() < deadline) {
          if ((await drainOnce(store, queue, logger, now(), attempts)) < TAKE) return true;
        }
      } catch (error) {
        // A store that does not answer keeps what it holds for the next process.
        logger.warn("event consumer: store unavailable", { error });
      }
      return false;
    },
    /** Messages being retried now (each forgotten once applied or dropped). */
    retrying: () => attempts.size,
  };
}
