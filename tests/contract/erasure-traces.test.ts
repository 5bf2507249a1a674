// After an erasure, nothing in the store names the user: the whole keyspace is scanned, every
// key and every value of every type, for the user_id. The user went through every path that
// writes about a user (likes, follows, views, keyed single and batch increments, queued
// events, per-user rate limits) before being erased through the admin route. The one
// exception is documented: a total counter's HyperLogLog holds a hash of each user it
// counted, which cannot forget one; it holds no user_id as text, and the scan proves it.

import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyQueuedEvents } from "../../shared/runtime/events-consumer.ts";
import { clusterBackend, redisBackend, upstashBackend } from "../support/backends.ts";
import { json, testApp } from "../support/test-app.ts";

const USER = "erased.person-4711";
const ADMIN = "admin-key-for-erasure-traces";

/** Every key with every value as text, from each node. */
async function everything(urls: string[]): Promise<string[]> {
  const texts: string[] = [];
  for (const url of urls) {
    const redis = new Redis(url);
    try {
      for (const key of await redis.keys("*")) {
        texts.push(key);
        const type = await redis.type(key);
        if (type === "string") texts.push((await redis.getBuffer(key))?.toString("latin1") ?? "");
        else if (type === "set") texts.push(...(await redis.smembers(key)));
        else if (type === "zset") texts.push(...(await redis.zrange(key, "0", "-1")));
        else if (type === "list") texts.push(...(await redis.lrange(key, 0, -1)));
        else if (type === "hash") texts.push(...Object.entries(await redis.hgetall(key)).flat());
        else throw new Error(`a ${type} key the scan cannot read: ${key}`);
      }
    } finally {
      redis.disconnect();
    }
  }
  return texts;
}

const cases = [
  [
    "redis",
    async () => {
      const b = await redisBackend();
      return { backend: b, urls: [b.server.url] };
    },
  ],
  [
    "redis cluster",
    async () => {
      const b = await clusterBackend();
      return { backend: b, urls: b.cluster.ports.map((p) => `redis://127.0.0.1:${p}`) };
    },
  ],
  [
    "upstash",
    async () => {
      const b = await upstashBackend();
      return { backend: b, urls: [b.server.url] };
    },
  ],
] as const;

describe.each(cases)("an erased user leaves no trace on %s", (_name, start) => {
  let made: Awaited<ReturnType<(typeof cases)[number][1]>>;
  beforeAll(async () => {
    made = await start();
  }, 60_000);
  afterAll(async () => {
    await made.backend.stop();
  });

  it("names the user nowhere in the keyspace, the HyperLogLog's hashes aside", async () => {
    const store = made.backend.store();
    const t = testApp(store, { adminKeys: [ADMIN], rateLimits: { user: { limit: 100, windowMs: 60_000 } } });
    const item = (resource_id: string, counter_type: string) => ({
      resource_id,
      counter_type,
      user_id: USER,
    });
    expect((await t.increment(item("a1", "like"), { "idempotency-key": "act-1" })).status).toBe(200);
    expect((await t.increment(item("a2", "follow"))).status).toBe(200);
    expect((await t.increment(item("a1", "view"), { "idempotency-key": "act-2" })).status).toBe(200);
    const batch = { increments: [item("a3", "like"), item("a3", "view"), item("a4", "like")] };
    expect((await t.post("/api/v1/counter/increments", batch, { "idempotency-key": "act-3" })).status).toBe(
      200,
    );
    await applyQueuedEvents(
      store,
      [{ eventId: "e-1", resourceId: "a5", type: "like", kind: "unique", userId: USER, delta: 1 }],
      Date.now(),
    );
    const before = await everything(made.urls);
    expect(before.some((text) => text.includes(USER))).toBe(true); // the scan sees what is there

    const erased = await t.app.request(`/api/v1/admin/users/${USER}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(erased.status).toBe(200);
    expect((await json(erased)).data.removed).toBe(5);
    const left = (await everything(made.urls)).filter((text) => text.includes(USER));
    expect(left).toEqual([]);
  });
});
