// Queued events over the Lua scripts: one script per counter for a batch of its events
// (coalesced, each event once by its id), and the local event queue as a list in the store.
// On Redis Cluster the ranking shard and each user's index go in calls of their own.

import { CountLimitError } from "../domain/errors.ts";
import { dayOf } from "../domain/history.ts";
import {
  EVENT_DEDUPE_TTL_MS,
  type LocalEventQueue,
  MAX_EXACT_COUNT,
  type QueuedEvent,
} from "../domain/model.ts";
import { followUp } from "./cluster-calls.ts";
import { EVENT, EVENTS, QUEUE, QUEUE_PEEK } from "./lua/events.ts";
import { num, type Parts } from "./script-kernel.ts";
import { STATUS } from "./scripts.ts";

export function eventApplier(p: Parts) {
  const ttl = String(EVENT_DEDUPE_TTL_MS);
  return async (events: readonly QueuedEvent[], now: number): Promise<number> => {
    const first = events[0];
    if (!first) return 0;
    const { cluster } = p.options;
    const unique = first.kind === "unique";
    const counter = p.keys.counter(first.resourceId, first.type, unique);
    const ranking = p.rankingKeys(first.type, now, first.resourceId);
    const history = p.historyArgs(now);
    const { keys, args } = EVENTS.encode(
      {
        counter,
        users: unique ? counter : p.keys.users(first.resourceId, first.type),
        eventIds: p.keys.eventIds(first.resourceId, first.type),
        history: p.keys.history(first.resourceId, first.type),
        ...ranking.named.keys,
      },
      {
        kind: unique ? "u" : "t",
        now: String(now),
        idTtl: ttl,
        resource: first.resourceId,
        ...ranking.named.ttls,
        rankCap: p.rankingCap,
        maxCount: String(MAX_EXACT_COUNT),
        indexEntry: cluster ? "" : `${first.type}:${first.resourceId}`,
        ranked: cluster ? "0" : "1",
        keepFrom: history.keepFrom,
        historyDays: history.historyDays,
      },
      // On a cluster the rankings are in another slot: the keys stop before them.
      cluster ? "rankAll" : undefined,
    );
    // Each user's index key once, after the counter's keys; an event names its place (1-based).
    const indexOf = new Map<string, number>();
    for (const e of events) {
      let index = 0;
      if (unique && !cluster) {
        index = indexOf.get(e.userId) ?? keys.push(p.keys.userIndex(e.userId));
        indexOf.set(e.userId, index);
      }
      const event = EVENT.encode(
        {},
        {
          id: e.eventId,
          user: e.userId,
          delta: String(e.delta),
          indexKey: String(index),
          day: e.acceptedAt === undefined ? history.day : String(dayOf(e.acceptedAt)),
        },
      );
      args.push(...event.args);
    }
    const reply = (await p.exec("events", true, p.scripts.events, keys, args)) as unknown[];
    if (num(reply[2]) === STATUS.COUNT_LIMIT) throw new CountLimitError(MAX_EXACT_COUNT);
    if (cluster) {
      const { type, resourceId } = first;
      const net = num(reply[3]);
      const rankings = net === 0 ? [] : [{ type, resourceId, delta: net, count: num(reply[1]) }];
      const changes = reply.slice(4).map(String);
      const joined = changes.map((c) => ({ userId: c.slice(1), type, resourceId, joined: c[0] === "+" }));
      await followUp(p, rankings, joined, now);
    }
    return num(reply[0]);
  };
}

/** The keys and arguments of a peek at the queue. */
function peekCall(queue: string, max: number): [string[], string[]] {
  const call = QUEUE_PEEK.encode({ queue }, { max: String(max) });
  return [call.keys, call.args];
}

/** The local event queue: a list in the store's database, one message per accepted POST. */
export function storeEventQueue(p: Parts): LocalEventQueue {
  const key = p.keys.eventQueue();
  return {
    push: async (message: string) => {
      await p.exec("queue events", true, p.scripts.queuePush, QUEUE.encode({ queue: key }, {}).keys, [
        message,
      ]);
    },
    peek: async (max: number) =>
      ((await p.exec("take events", false, p.scripts.queuePeek, ...peekCall(key, max))) as unknown[]).map(
        String,
      ),
    remove: async (messages: readonly string[]) => {
      if (messages.length > 0)
        await p.exec("remove events", true, p.scripts.queueRemove, QUEUE.encode({ queue: key }, {}).keys, [
          ...messages,
        ]);
    },
    length: async () =>
      num(
        await p.exec(
          "event queue depth",
          false,
          p.scripts.queueLength,
          QUEUE.encode({ queue: key }, {}).keys,
          [],
        ),
      ),
  };
}
