// The write paths of HighPress side by side in one run: single increments against batches of
// 10 and 100 (POST /api/v1/counter/increments), in increments per second, alternating rounds
// on the same server and Redis. The goal: batches of 100 at 10x the single increments.

import { pathOf } from "../../../shared/http/routes.ts";

export interface WritePath {
  name: string;
  itemsPerRequest: number;
  requestsPerSecond: number;
  incrementsPerSecond: number;
  /** Increments per second over the single increments'. */
  ratio: number;
  /** Time inside Redis commands per increment, µs (INFO commandstats). */
  redisUsPerItem: number;
}

type Load = (
  base: string,
  scenario: {
    name: string;
    connections: number;
    method: "POST";
    path: () => string;
    body: (i: number) => unknown;
  },
  seconds: number,
) => Promise<{ rps: number; redisCommandUs: number }>;

const item = (i: number) => ({
  resource_id: `article_${i % 1000}`,
  counter_type: "view",
  user_id: `user_${i % 5000}`,
  increment: 1,
});

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export async function measureWritePaths(
  base: string,
  load: Load,
  seconds: number,
  rounds: number,
): Promise<WritePath[]> {
  const shapes = [1, 10, 100].map((size) => ({
    size,
    scenario: {
      name: size === 1 ? "single increments" : `batches of ${size}`,
      connections: 50,
      method: "POST" as const,
      path: () => (size === 1 ? pathOf("increment") : pathOf("incrementMany")),
      body: (i: number) =>
        size === 1 ? item(i) : { increments: Array.from({ length: size }, (_, j) => item(i * size + j)) },
    },
  }));
  const rates = new Map<number, number[]>(shapes.map((s) => [s.size, []]));
  const redisUs = new Map<number, number[]>(shapes.map((s) => [s.size, []]));
  for (const s of shapes) await load(base, s.scenario, 1);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? shapes : [...shapes].reverse();
    for (const s of order) {
      const run = await load(base, s.scenario, seconds);
      rates.get(s.size)?.push(run.rps);
      redisUs.get(s.size)?.push(run.redisCommandUs / s.size);
    }
  }
  const single = median(rates.get(1) ?? []);
  return shapes.map((s) => {
    const rps = median(rates.get(s.size) ?? []);
    return {
      name: s.scenario.name,
      itemsPerRequest: s.size,
      requestsPerSecond: Math.round(rps),
      incrementsPerSecond: Math.round(rps * s.size),
      ratio: single > 0 ? (rps * s.size) / single : Number.NaN,
      redisUsPerItem: median(redisUs.get(s.size) ?? []),
    };
  });
}

export interface QueuedEventsRun {
  distinctCounters: number;
  events: number;
  storeCalls: number;
  callsPerEvent: number;
  eventsPerSecond: number;
  /** Time inside Redis commands per event, µs (INFO commandstats). */
  redisUsPerEvent: number;
}

/**
 * The consumer's side of queued events: one consumer batch of 100,000 view events (about
 * what SQS hands one invocation at the batch size's limit) over 50 and over 5,000 distinct
 * counters, applied through the real Redis store; store calls are one per distinct counter
 * (at most 1,000 events each).
 */
export async function measureQueuedEvents(
  redisUrl: string,
  redisCommandUs: () => Promise<number>,
): Promise<QueuedEventsRun[]> {
  const { createRedisClient, createRedisStore } = await import("../../../shared/stores/redis.ts");
  const { applyQueuedEvents } = await import("../../../shared/runtime/events-consumer.ts");
  const { groupByCounter } = await import("../../../shared/domain/events.ts");
  const client = createRedisClient(redisUrl, false, 30_000);
  const store = createRedisStore(client, { keyPrefix: "benchq", timeoutMs: 30_000 });
  const runs: QueuedEventsRun[] = [];
  try {
    for (const distinct of [50, 5000]) {
      const events = Array.from({ length: 100_000 }, (_, i) => ({
        eventId: `q${distinct}-${i}`,
        resourceId: `article_${i % distinct}`,
        type: "view",
        kind: "total" as const,
        userId: `user_${i % 5000}`,
        delta: 1,
      }));
      const calls = groupByCounter(events).length;
      const usBefore = await redisCommandUs();
      const started = performance.now();
      await applyQueuedEvents(store, events, Date.now());
      const seconds = (performance.now() - started) / 1000;
      const redisUs = (await redisCommandUs()) - usBefore;
      runs.push({
        distinctCounters: distinct,
        events: events.length,
        storeCalls: calls,
        callsPerEvent: calls / events.length,
        eventsPerSecond: Math.round(events.length / seconds),
        redisUsPerEvent: redisUs / events.length,
      });
    }
  } finally {
    client.disconnect();
  }
  return runs;
}
