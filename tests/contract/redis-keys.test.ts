// What the Redis scripts leave behind: keys under the resource's hash tag, ranking buckets
// and idempotency records that expire on their own, nothing else.

import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dayOf } from "../../shared/domain/history.ts";
import { loadConfig } from "../../shared/runtime/config.ts";
import { createLogger } from "../../shared/runtime/logger.ts";
import { createStore } from "../../shared/runtime/store.ts";
import { createRedisClient, createRedisStore } from "../../shared/stores/redis.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { json, testApp } from "../support/test-app.ts";

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
  const resourceKeys = keys.filter((k) => !k.startsWith("kp:rank:") && !k.startsWith("kp:ux:"));
  // A like is indexed under its user, for erasure.
  expect(keys.filter((k) => k.startsWith("kp:ux:"))).toEqual(["kp:ux:{u}"]);
  expect(await direct.smembers("kp:ux:{u}")).toEqual(["like:post:9"]);
  expect(resourceKeys).toEqual([
    "kp:{post:9}:h:like",
    "kp:{post:9}:h:view",
    "kp:{post:9}:i:k1",
    "kp:{post:9}:n:view",
    "kp:{post:9}:t:view",
    "kp:{post:9}:u:like",
  ]);
  const rankingKeys = keys.filter((k) => k.startsWith("kp:rank:"));
  // All, hour and day for like and view: a week is read as the sum of its days, which live until the week is over.
  expect(rankingKeys.map((k) => k.replace(/\d+$/, "N")).sort()).toEqual([
    "kp:rank:{like}:all",
    "kp:rank:{like}:dN",
    "kp:rank:{like}:hN",
    "kp:rank:{view}:all",
    "kp:rank:{view}:dN",
    "kp:rank:{view}:hN",
  ]);
  const maxTtl = (key: string) => (/:h\d+$/.test(key) ? 70 * 60_000 : 7 * 24 * 3_600_000 + 3_600_000);
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
  // Counters themselves never expire, nor their history (bounded by its days, not by a TTL).
  expect(await direct.pttl("kp:{post:9}:t:view")).toBe(-1);
  expect(await direct.pttl("kp:{post:9}:h:view")).toBe(-1);
  expect(await direct.hgetall("kp:{post:9}:h:view")).toEqual({ [String(dayOf(now))]: "2" });
});

describe("counts seeded in Redis, through the app", () => {
  const prefix = "seed";
  let client: ReturnType<typeof createRedisClient>;
  let t: ReturnType<typeof testApp>;
  beforeAll(() => {
    client = createRedisClient(server.url, false, 1000);
    t = testApp(createRedisStore(client, { keyPrefix: prefix, timeoutMs: 1000 }));
  });
  afterAll(() => client.disconnect());
  const view = (id: string, increment = 1) => ({
    resource_id: id,
    counter_type: "view",
    user_id: "u",
    increment,
  });

  it("count exactly to 2^53 - 1, then answer 409 and apply nothing, ranking included", async () => {
    await direct.set(`${prefix}:{edge}:t:view`, "9007199254740989");
    const last = await t.increment(view("edge", 2));
    expect((await json(last)).data.count).toBe(9007199254740991);
    const over = await t.increment(view("edge", 1));
    expect(over.status).toBe(409);
    expect(await json(over)).toEqual({
      error: "Conflict",
      code: 409,
      message: "increment: the count would exceed 9007199254740991; nothing was applied",
      details: [{ path: "increment", message: "count would exceed 9007199254740991" }],
    });
    expect(await direct.get(`${prefix}:{edge}:t:view`)).toBe("9007199254740991");
    expect(await direct.zscore(`${prefix}:rank:{view}:all`, "edge")).toBe("9007199254740991");
    const got = await json(await t.get("/api/v1/counter/edge/view"));
    expect(got.data.count).toBe(9007199254740991);
    const batch = await json(
      await t.post("/api/v1/counter/batch", { queries: [{ resource_id: "edge", counter_type: "view" }] }),
    );
    expect(batch.data[0].count).toBe(9007199254740991);
    const hot = await json(await t.get("/api/v1/counter/hot/view?period=all&limit=1"));
    expect(hot.data.items).toEqual([{ resource_id: "edge", count: 9007199254740991 }]);
  });

  it("replay an Idempotency-Key whose count is 100,000,000,000,005 with that exact answer", async () => {
    await direct.set(`${prefix}:{replay}:t:view`, "100000000000000");
    const first = await t.increment(view("replay", 5), { "idempotency-key": "big-1" });
    const body = await first.text();
    expect(JSON.parse(body).data.count).toBe(100_000_000_000_005);
    const record = await direct.get(`${prefix}:{replay}:i:big-1`);
    expect(record).toContain("\n100000000000005\n");
    const again = await t.increment(view("replay", 5), { "idempotency-key": "big-1" });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.text()).toBe(body);
    expect(await direct.get(`${prefix}:{replay}:t:view`)).toBe("100000000000005");
  });

  it("take a resource whose count falls to 0 out of the all-time ranking key itself", async () => {
    const like = (increment: number) => ({
      resource_id: "gone",
      counter_type: "like",
      user_id: "u",
      increment,
    });
    expect((await t.increment(like(1))).status).toBe(200);
    expect(await direct.zscore(`${prefix}:rank:{like}:all`, "gone")).toBe("1");
    expect((await t.increment(like(-1))).status).toBe(200);
    expect(await direct.zscore(`${prefix}:rank:{like}:all`, "gone")).toBeNull();
  });

  it("keep the all-time ranking to RANKING_MAX_MEMBERS, scored with each counter's value", async () => {
    const capped = testApp(
      createRedisStore(client, { keyPrefix: "cap", timeoutMs: 1000, rankingMaxMembers: 100 }),
    );
    for (let i = 1; i <= 120; i++) expect((await capped.increment(view(`m${i}`, i))).status).toBe(200);
    expect(await direct.zcard("cap:rank:{view}:all")).toBe(100);
    // The 20 lowest went; m1 comes back with its count, 1 + 200, not with the 200 it gained.
    expect(await direct.zscore("cap:rank:{view}:all", "m20")).toBeNull();
    await capped.increment(view("m1", 200));
    expect(await direct.zscore("cap:rank:{view}:all", "m1")).toBe("201");
    expect(await direct.zcard("cap:rank:{view}:all")).toBe(100);
    const dayKeys = await direct.keys("cap:rank:{view}:d*");
    expect(dayKeys).toHaveLength(1);
    expect(await direct.zcard(dayKeys[0] as string)).toBe(100);
  });
});

describe("idempotency records", () => {
  it("hold a digest of the request, and a record from before digests still answers its retry", async () => {
    const client = createRedisClient(server.url, false, 1000);
    const store = createRedisStore(client, { keyPrefix: "kf", timeoutMs: 1000 });
    const like = (userId: string, idempotencyKey: string) =>
      ({
        resourceId: "p1",
        type: "like",
        kind: "unique",
        userId,
        delta: 1,
        now: Date.now(),
        idempotencyKey,
      }) as const;
    try {
      await store.increment(like("writer", "new-1"));
      const record = (await direct.get("kf:{p1}:i:new-1")) as string;
      expect(record).toMatch(/^[0-9a-f]{32}\n1\n1$/);
      expect(record).not.toContain("writer");
      // As 0.1.0 wrote it: `type|user|delta`, then the count and whether it applied.
      await direct.set("kf:{p1}:i:old-1", "like|legacy-user|1\n7\n1", "PX", 60_000);
      expect(await store.increment(like("legacy-user", "old-1"))).toEqual({
        count: 7,
        applied: true,
        replayed: true,
      });
      await expect(store.increment(like("someone-else", "old-1"))).rejects.toThrow(/different request/);
    } finally {
      client.disconnect();
    }
  });
});

describe("a keyed batch", () => {
  it("leaves one record whatever its size, and replays a 0.1.0 batch's per-item records after an upgrade", async () => {
    const client = createRedisClient(server.url, false, 1000);
    const store = createRedisStore(client, { keyPrefix: "kb", timeoutMs: 1000 });
    const now = Date.now();
    const view = (resourceId: string, userId: string) =>
      ({ resourceId, type: "view", kind: "total", userId, delta: 1, now }) as const;
    try {
      const batch = Array.from({ length: 100 }, (_, i) => view(`r${i % 7}`, `u${i}`));
      await store.incrementMany(batch, [], now, "big-batch");
      const records = (await direct.keys("kb:*")).filter((k) => k.includes(":i") || k.includes(":ib"));
      expect(records).toHaveLength(1);
      expect(records[0]).toMatch(/^kb:ib:\{[0-9a-f]{24}\}$/);
      // As 0.1.0 left a keyed batch of two: one record per item, `<key>#<index>`.
      await direct.set("kb:{old}:i:legacy#0", "view|a|1\n4\n1", "PX", 60_000);
      await direct.set("kb:{old}:i:legacy#1", "view|b|1\n5\n1", "PX", 60_000);
      await direct.set("kb:{old}:t:view", "5");
      const retried = await store.incrementMany([view("old", "a"), view("old", "b")], [], now, "legacy");
      expect(retried).toEqual([
        { count: 4, applied: true, replayed: true },
        { count: 5, applied: true, replayed: true },
      ]);
      expect(await direct.get("kb:{old}:t:view")).toBe("5");
    } finally {
      client.disconnect();
    }
  });
});

describe("IDEMPOTENCY_TTL_MS", () => {
  it("is how long every keyed request's record lives, from the configuration to the store", async () => {
    const env = { REDIS_URL: server.url, KEY_PREFIX: "kt", IDEMPOTENCY_TTL_MS: "90000" };
    const store = await createStore(loadConfig(env), createLogger("error"));
    const now = Date.now();
    const view = { resourceId: "t1", type: "view", kind: "total", userId: "u", delta: 1, now } as const;
    try {
      await store.increment({ ...view, idempotencyKey: "single" });
      await store.incrementMany([view, view], [], now, "batch");
      const records = (await direct.keys("kt:*")).filter((k) => /:ib?[:{]/.test(k));
      expect(records).toHaveLength(2);
      for (const key of records) {
        const ttl = await direct.pttl(key);
        expect(ttl, key).toBeGreaterThan(80_000);
        expect(ttl, key).toBeLessThanOrEqual(90_000);
      }
    } finally {
      await store.close();
    }
    expect(() => loadConfig({ IDEMPOTENCY_TTL_MS: "59999" })).toThrow(
      /IDEMPOTENCY_TTL_MS: must be an integer from 60000 to 604800000/,
    );
  });
});
