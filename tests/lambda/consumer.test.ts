// The events consumer (functions/consume.ts) with real SQS event shapes against a real Redis:
// each event applied once through redelivery, a crash half way and partial batch failures,
// and each counter's events in one store call.

import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeEvents } from "../../shared/domain/events.ts";
import type { QueuedEvent } from "../../shared/domain/model.ts";
import { createSqsConsumer, type SqsRecord } from "../../shared/runtime/sqs-consumer.ts";
import { createRedisClient, createRedisStore } from "../../shared/stores/redis.ts";
import { randomPrefix } from "../support/backends.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { memoryLogger, stdoutLines } from "../support/test-app.ts";

let redis: RedisServer;
let direct: Redis;
beforeAll(async () => {
  redis = await startRedis();
  direct = new Redis(redis.url);
}, 30_000);
afterAll(async () => {
  direct.disconnect();
  await redis.stop();
});

const view = (id: string, resourceId: string, userId = "u"): QueuedEvent => ({
  eventId: id,
  resourceId,
  type: "view",
  kind: "total",
  userId,
  delta: 1,
});

/** An SQS event as Lambda's event source mapping delivers it. */
const sqsEvent = (records: SqsRecord[]) => ({
  Records: records.map((r) => ({
    messageId: r.messageId,
    receiptHandle: `handle-${r.messageId}`,
    body: r.body,
    attributes: { ApproximateReceiveCount: "1", SentTimestamp: "1764150000000" },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:HighPressStack-EventsQueue",
    awsRegion: "eu-west-1",
  })),
});

function consumer() {
  const prefix = randomPrefix();
  const handler = createSqsConsumer({
    env: { REDIS_URL: redis.url, KEY_PREFIX: prefix },
    logger: memoryLogger(),
  });
  const client = createRedisClient(redis.url, false, 2000);
  const store = createRedisStore(client, { keyPrefix: prefix, timeoutMs: 2000 });
  const count = async (resourceId: string) =>
    (await store.read([{ resourceId, type: "view", kind: "total" }]))[0]?.count;
  return { prefix, handler, count, close: () => client.disconnect() };
}

/** 3 messages: 300 views of "a", 150 of "b", 150 of "c", ids e0..e599. */
const records = (): SqsRecord[] =>
  [0, 1, 2].map((m) => ({
    messageId: `msg-${m}`,
    body: encodeEvents(
      Array.from({ length: 200 }, (_, i) =>
        view(`e${m * 200 + i}`, m === 0 ? "a" : i % 2 ? "b" : m === 1 ? "a" : "c"),
      ),
      Date.now(),
    ),
  }));

describe("the events consumer", () => {
  it("applies a batch once, however often SQS delivers it", async () => {
    const c = consumer();
    try {
      for (let delivery = 0; delivery < 3; delivery++) {
        expect(await c.handler(sqsEvent(records()))).toEqual({ batchItemFailures: [] });
      }
      expect([await c.count("a"), await c.count("b"), await c.count("c")]).toEqual([300, 200, 100]);
    } finally {
      c.close();
    }
  });

  it("reports only the records of a counter that failed, and a redelivery finishes them exactly", async () => {
    const c = consumer();
    try {
      // "c" cannot be counted now: its key holds a set (WRONGTYPE) until it is repaired.
      await direct.sadd(`${c.prefix}:{c}:t:view`, "not-a-counter");
      const first = await c.handler(sqsEvent(records()));
      expect(first.batchItemFailures).toEqual([{ itemIdentifier: "msg-2" }]);
      expect([await c.count("a"), await c.count("b")]).toEqual([300, 200]);
      await direct.del(`${c.prefix}:{c}:t:view`);
      // SQS delivers the failed record again (and, after a crash, maybe all of them).
      const failed = records().filter((r) => r.messageId === "msg-2");
      expect(await c.handler(sqsEvent(failed))).toEqual({ batchItemFailures: [] });
      expect(await c.handler(sqsEvent(records()))).toEqual({ batchItemFailures: [] });
      expect([await c.count("a"), await c.count("b"), await c.count("c")]).toEqual([300, 200, 100]);
    } finally {
      c.close();
    }
  });

  it("counts a client's retried POST (same event ids, another message) once", async () => {
    const c = consumer();
    try {
      const events = [view("retry-1", "r"), view("retry-2", "r")];
      const message = (id: string) => ({ messageId: id, body: encodeEvents(events, Date.now()) });
      expect((await c.handler(sqsEvent([message("m1"), message("m2")]))).batchItemFailures).toEqual([]);
      expect(await c.count("r")).toBe(2);
    } finally {
      c.close();
    }
  });

  /** A message of one good event whose version is `v` (absent when undefined). */
  const withVersion = (v: number | undefined) => {
    const { v: _v, ...rest } = JSON.parse(encodeEvents([view("v-1", "versioned")], Date.now()));
    return JSON.stringify(v === undefined ? rest : { ...rest, v });
  };

  it("reports an unreadable record and applies the rest; an event that is not SQS's is an error", async () => {
    const c = consumer();
    try {
      const answer = await c.handler(
        sqsEvent([
          { messageId: "junk", body: "not json" },
          { messageId: "alien", body: JSON.stringify({ v: 1, events: [{ id: 1 }] }) },
          { messageId: "good", body: encodeEvents([view("g1", "good")], Date.now()) },
          // Well-formed events under no version, or a version this release cannot read.
          { messageId: "unversioned", body: withVersion(undefined) },
          { messageId: "v2", body: withVersion(2) },
        ]),
      );
      expect(answer.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([
        "alien",
        "junk",
        "unversioned",
        "v2",
      ]);
      expect(await c.count("good")).toBe(1);
      expect(await c.count("versioned")).toBe(0);
      await expect(c.handler({})).rejects.toThrow(/takes SQS events.*got an event with keys none/);
      const apiGatewayEvent = JSON.parse(readFileSync("events/increment.json", "utf8"));
      await expect(c.handler(apiGatewayEvent)).rejects.toThrow(/NotAnSqsEvent|takes SQS events/);
      await expect(c.handler({ Records: [{ messageId: "m", body: "x" }] })).rejects.toThrow(/aws:sqs/);
    } finally {
      c.close();
    }
  });

  it("logs at LOG_LEVEL: warn keeps the per-batch info line out, info lets it through", async () => {
    const infoLines = async (level: string) =>
      (
        await stdoutLines(() =>
          createSqsConsumer({ env: { REDIS_URL: redis.url, KEY_PREFIX: randomPrefix(), LOG_LEVEL: level } })(
            sqsEvent(records()),
          ),
        )
      ).filter((l) => l.msg === "events applied");
    expect(await infoLines("warn")).toHaveLength(0);
    expect(await infoLines("error")).toHaveLength(0);
    const [line] = await infoLines("info");
    expect(line).toMatchObject({ level: "info", records: 3, events: 600 });
    expect(typeof line?.timestamp).toBe("string");
  });

  it("gives every record back when it cannot start (bad configuration): nothing is lost", async () => {
    const handler = createSqsConsumer({ env: { COUNTER_STORE: "redis" }, logger: memoryLogger() });
    const answer = await handler(sqsEvent(records()));
    expect(answer.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["msg-0", "msg-1", "msg-2"]);
  });
});
