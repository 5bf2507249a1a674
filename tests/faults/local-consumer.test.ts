// The local server's events consumer on a Redis that runs out of memory: its messages are
// retried, and one that could not be removed (the store refused the removal too) is not
// logged as dropped; once memory is back it applies, once, and nothing is kept for it.

import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeEvents } from "../../shared/domain/events.ts";
import { startLocalConsumer } from "../../shared/runtime/events-consumer.ts";
import { createRedisClient, createRedisEventQueue, createRedisStore } from "../../shared/stores/redis.ts";
import { randomPrefix } from "../support/backends.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { memoryLogger } from "../support/test-app.ts";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
}, 30_000);
afterAll(() => server.stop());

describe("the local events consumer on a full Redis", () => {
  it("logs no drop for a message the store would not let it remove, and applies it once memory is back", async () => {
    const admin = new Redis(server.url);
    const client = createRedisClient(server.url, false, 1000);
    client.on("error", () => {});
    const keyPrefix = randomPrefix();
    const store = createRedisStore(client, { keyPrefix, timeoutMs: 1000 });
    const queue = createRedisEventQueue(client, { keyPrefix, timeoutMs: 1000 });
    const logger = memoryLogger();
    const event = {
      eventId: "oom-1",
      resourceId: "oom",
      type: "view",
      kind: "total" as const,
      userId: "u",
      delta: 1,
    };
    await queue.push(encodeEvents([event], Date.now()));
    await admin.config("SET", "maxmemory-policy", "noeviction");
    await admin.config("SET", "maxmemory", "1");
    const consumer = startLocalConsumer(store, queue, logger, { intervalMs: 10 });
    try {
      // Long enough for more than five tries: the message would have been dropped by now.
      const tries = () =>
        logger.lines.filter((l) => l.msg === "queued events not applied yet; retrying").length;
      for (let i = 0; i < 300 && tries() < 4; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      expect(tries()).toBeGreaterThanOrEqual(4);
      await admin.config("SET", "maxmemory", "0");
      for (let i = 0; i < 300 && (await queue.peek(1)).length > 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await queue.peek(1)).toEqual([]);
    } finally {
      await consumer.stop();
      await admin.config("SET", "maxmemory", "0");
      admin.disconnect();
    }
    const [count] = await store.read([{ resourceId: "oom", type: "view", kind: "total" }]);
    expect(count?.count).toBe(1);
    expect(logger.lines.filter((l) => l.msg === "queued events dropped after repeated failures")).toEqual([]);
    expect(consumer.retrying()).toBe(0);
    client.disconnect();
  }, 30_000);
});
