// `npm run replay-dead-letters`: dead letters within the event-id window go back to the events
// queue, and the consumer then counts each event once even where a first delivery had applied
// part of them; older ones stay, unless asked. Against the local SQS-protocol endpoint.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replayDeadLetters } from "../../infra/tools/lambda/replay-dead-letters.ts";
import { encodeEvents } from "../../shared/domain/events.ts";
import { EVENT_DEDUPE_TTL_MS, type QueuedEvent } from "../../shared/domain/model.ts";
import { consumeRecords } from "../../shared/runtime/sqs-consumer.ts";
import { createRedisClient, createRedisStore } from "../../shared/stores/redis.ts";
import { randomPrefix } from "../support/backends.ts";
import { runNode } from "../support/node-process.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { type SqsEndpoint, startSqsEndpoint } from "../support/sqs-endpoint.ts";
import { memoryLogger } from "../support/test-app.ts";

let sqs: SqsEndpoint;
let redis: RedisServer;
const saved: Record<string, string | undefined> = {};
beforeAll(async () => {
  [sqs, redis] = await Promise.all([startSqsEndpoint(), startRedis()]);
  for (const [k, v] of Object.entries(sqs.sdkEnv)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
}, 30_000);
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await Promise.all([sqs.close(), redis.stop()]);
});

const view = (id: string, resourceId: string): QueuedEvent => ({
  eventId: id,
  resourceId,
  type: "view",
  kind: "total",
  userId: "u",
  delta: 1,
});
const deadLetters = () => {
  const path = new URL(sqs.deadLetterUrl).pathname;
  if (!sqs.queues.has(path)) sqs.queues.set(path, []);
  return sqs.queues.get(path) as NonNullable<ReturnType<typeof sqs.queues.get>>;
};
const deadLetter = (body: string, sentAt: number) =>
  deadLetters().push({ id: `dl-${deadLetters().length}`, body, sentAt, hiddenUntil: 0 });

describe("replaying dead letters", () => {
  it("moves those within the window back, counted once though a first delivery applied some; leaves older ones", async () => {
    const now = Date.now();
    const prefix = randomPrefix();
    const client = createRedisClient(redis.url, false, 2000);
    const store = createRedisStore(client, { keyPrefix: prefix, timeoutMs: 2000 });
    try {
      const fresh = [view("f1", "fresh"), view("f2", "fresh"), view("f3", "fresh")];
      // A first delivery applied f1 before the message failed for good.
      await consumeRecords(
        store,
        [{ messageId: "m0", body: encodeEvents([fresh[0] as QueuedEvent], now) }],
        memoryLogger(),
        now,
      );
      deadLetter(encodeEvents(fresh, now - 60_000), now - 60_000);
      deadLetter(
        encodeEvents([view("o1", "old")], now - EVENT_DEDUPE_TTL_MS - 1),
        now - EVENT_DEDUPE_TTL_MS - 1,
      );
      const dry = await replayDeadLetters({
        deadLetterUrl: sqs.deadLetterUrl,
        queueUrl: sqs.queueUrl,
        olderToo: false,
        dryRun: true,
      });
      expect(dry).toEqual({ replayed: 0, tooOld: 1, wouldReplay: 1 });
      for (const m of deadLetters()) m.hiddenUntil = 0;

      const summary = await replayDeadLetters({
        deadLetterUrl: sqs.deadLetterUrl,
        queueUrl: sqs.queueUrl,
        olderToo: false,
        dryRun: false,
      });
      expect(summary).toEqual({ replayed: 1, tooOld: 1, wouldReplay: 0 });
      expect(deadLetters()).toHaveLength(1);
      expect(sqs.messages).toHaveLength(1);
      // The consumer gets the replayed message: f1 is not counted again.
      const records = sqs.messages.map((m) => ({ messageId: m.id, body: m.body }));
      expect(await consumeRecords(store, records, memoryLogger(), now)).toEqual({ batchItemFailures: [] });
      const [count] = await store.read([{ resourceId: "fresh", type: "view", kind: "total" }]);
      expect(count?.count).toBe(3);

      for (const m of deadLetters()) m.hiddenUntil = 0;
      const forced = await replayDeadLetters({
        deadLetterUrl: sqs.deadLetterUrl,
        queueUrl: sqs.queueUrl,
        olderToo: true,
        dryRun: false,
      });
      expect(forced.replayed).toBe(1);
      expect(deadLetters()).toHaveLength(0);
    } finally {
      client.disconnect();
    }
  });

  it("as an npm script, names what it needs when given nothing", async () => {
    const run = await runNode(["infra/tools/lambda/replay-dead-letters.ts"], {});
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain(
      "usage: npm run replay-dead-letters -- (--stack NAME | --dead-letter-url URL --queue-url URL)",
    );
  });
});
