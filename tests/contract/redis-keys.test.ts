// What the Redis scripts leave behind: keys under the resource's hash tag, ranking buckets
// and idempotency records that expire on their own, nothing else.

import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createRedisClient, createRedisStore } from "../../shared/stores/redis.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";

let server: RedisServer;
let direct: Redis;
beforeAll(async () => {
  server = await startRedis();
  direct = new Redis(server.url);
}, 30_000);
afterAll(async () => {
  direct.disconnect();
  await server.stop();
});

it("keeps a resource's keys under one hash tag and lets windows and idempotency records expire", async () => {
  const client = createRedisClient(server.url, false, 1000);
  const store = createRedisStore(client, { keyPrefix: "kp", timeoutMs: 1000 });
  const now = Date.now();
  try {
    await store.increment({
      resourceId: "post:9",
      type: "view",
      kind: "total",
      userId: "u",
      delta: 2,
      now,
      idempotencyKey: "k1",
    });
    await store.increment({ resourceId: "post:9", type: "like", kind: "unique", userId: "u", delta: 1, now });
  } finally {
    client.disconnect();
  }
  const keys = (await direct.keys("*")).sort();
  const resourceKeys = keys.filter((k) => !k.startsWith("kp:rank:"));
  expect(resourceKeys).toEqual([
    "kp:{post:9}:i:k1",
    "kp:{post:9}:n:view",
    "kp:{post:9}:t:view",
    "kp:{post:9}:u:like",
  ]);
  const rankingKeys = keys.filter((k) => k.startsWith("kp:rank:"));
  expect(rankingKeys).toHaveLength(8); // all, hour, day, week for like and view
  const maxTtl = (key: string) =>
    /:h\d+$/.test(key) ? 70 * 60_000 : /:d\d+$/.test(key) ? 25 * 3_600_000 : 7 * 24 * 3_600_000 + 3_600_000;
  for (const key of rankingKeys) {
    const ttl = await direct.pttl(key);
    if (key.endsWith(":all")) {
      expect(ttl, key).toBe(-1);
    } else {
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(maxTtl(key));
    }
  }
  const idempotencyTtl = await direct.pttl("kp:{post:9}:i:k1");
  expect(idempotencyTtl).toBeGreaterThan(23 * 3_600_000);
  expect(idempotencyTtl).toBeLessThanOrEqual(24 * 3_600_000);
  // Counters themselves never expire.
  expect(await direct.pttl("kp:{post:9}:t:view")).toBe(-1);
});
