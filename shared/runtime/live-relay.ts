// Live counts on AWS, in two steps, because the store may sit in a VPC with no way out while
// AppSync Events is a public endpoint: WatchFunction (beside the store) hears every counter's
// changes and, once per LIVE_INTERVAL_MS, sends the latest counts of those that changed as
// one message to a FIFO queue (reachable from the VPC by its endpoint); PublishFunction
// (outside any VPC) publishes each to its counter's channel. Nothing here runs on a request.

import { liveChannel } from "../domain/live-channel.ts";
import type { Logger } from "../domain/logger.ts";
import type { ChangeFeed, CounterChange } from "../domain/model.ts";
import type { Publish } from "./appsync-publish.ts";

/** One interval's changed counters, as the queue carries them. */
export interface LiveMessage {
  /** When the interval ended (ms). */
  at: number;
  changes: { type: string; resource_id: string; count: number }[];
}

export interface RelayOptions {
  intervalMs: number;
  /** When to stop (ms): the function's time, less a margin. */
  until: number;
  send: (message: LiveMessage) => Promise<void>;
  logger: Logger;
  now?: () => number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Hears every counter until `until`, sending each interval's latest counts (one per counter
 * that changed, however often it did). Returns how many messages and counts went out.
 */
export async function relayChanges(
  feed: ChangeFeed,
  options: RelayOptions,
): Promise<{ messages: number; counts: number }> {
  const now = options.now ?? Date.now;
  const pending = new Map<string, CounterChange>();
  const unwatch = await feed.watchAll((change) =>
    pending.set(`${change.type}\n${change.resourceId}`, change),
  );
  const sent = { messages: 0, counts: 0 };
  const flush = async () => {
    if (pending.size === 0) return;
    const changes = [...pending.values()].map((c) => ({
      type: c.type,
      resource_id: c.resourceId,
      count: c.count,
    }));
    pending.clear();
    try {
      await options.send({ at: now(), changes });
      sent.messages++;
      sent.counts += changes.length;
    } catch (error) {
      // The next change of each counter goes in a later message: a lost one is stale a while, not wrong.
      options.logger.warn("live counts not sent", { counts: changes.length, error });
    }
  };
  try {
    while (now() + options.intervalMs <= options.until) {
      await sleep(options.intervalMs);
      await flush();
    }
  } finally {
    unwatch();
    await flush();
  }
  return sent;
}

/** The latest count of each counter in these messages (later messages win), by channel. */
export async function latestByChannel(messages: readonly LiveMessage[]): Promise<Map<string, number>> {
  const latest = new Map<string, number>();
  for (const message of messages) {
    for (const change of message.changes)
      latest.set(await liveChannel(change.type, change.resource_id), change.count);
  }
  return latest;
}

/** Publishes each channel's count (`{"count":N}`), `concurrency` requests at a time; the channels that failed. */
export async function publishLatest(
  latest: ReadonlyMap<string, number>,
  publish: Publish,
  concurrency = 10,
): Promise<{ channel: string; error: unknown }[]> {
  const queue = [...latest];
  const failed: { channel: string; error: unknown }[] = [];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [channel, count] = next;
      await publish(channel, [JSON.stringify({ count })]).catch((error: unknown) =>
        failed.push({ channel, error }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  return failed;
}

/** Reads a queue message; throws on anything else. */
export function decodeLiveMessage(body: string): LiveMessage {
  const parsed = JSON.parse(body) as LiveMessage;
  if (typeof parsed?.at !== "number" || !Array.isArray(parsed.changes))
    throw new Error("not a live counts message");
  for (const c of parsed.changes) {
    if (typeof c?.type !== "string" || typeof c.resource_id !== "string" || !Number.isSafeInteger(c.count)) {
      throw new Error("a live counts message with a malformed change");
    }
  }
  return parsed;
}
