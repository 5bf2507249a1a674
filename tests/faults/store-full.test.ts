// A store at its limits: a Redis out of memory (maxmemory reached, noeviction), directly and
// behind the Upstash endpoint, and a read-only replica. Reads keep answering exactly, writes
// answer an honest 503 (`may_have_applied: false`), and the deep health check says degraded.

import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CounterStore } from "../../shared/domain/model.ts";
import { createRedisClient, createRedisStore } from "../../shared/stores/redis.ts";
import { type Backend, randomPrefix, redisBackend, upstashBackend } from "../support/backends.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { json, testApp } from "../support/test-app.ts";

type App = ReturnType<typeof testApp>;

/** Seeds a like counter, a view counter and their rankings through the app. */
async function seed(t: App): Promise<void> {
  for (const user of ["u1", "u2", "u3"]) {
    expect((await t.increment({ resource_id: "full_a", counter_type: "like", user_id: user })).status).toBe(
      200,
    );
  }
  for (const user of ["u1", "u2", "u1"]) {
    const res = await t.increment({
      resource_id: "full_v",
      counter_type: "view",
      user_id: user,
      increment: 5,
    });
    expect(res.status).toBe(200);
  }
}

/** Every read answers 200 with the seeded counts, though the store refuses writes. */
async function expectReadsServed(t: App): Promise<void> {
  const like = await t.get("/api/v1/counter/full_a/like?user_id=u2");
  expect(like.status).toBe(200);
  expect((await json(like)).data).toEqual({
    resource_id: "full_a",
    counter_type: "like",
    count: 3,
    member: true,
  });
  const view = await t.get("/api/v1/counter/full_v/view");
  expect(view.status).toBe(200);
  expect((await json(view)).data).toEqual({
    resource_id: "full_v",
    counter_type: "view",
    count: 15,
    unique_users: 2,
  });
  const batch = await t.post("/api/v1/counter/batch", {
    queries: [
      { resource_id: "full_a", counter_type: "like" },
      { resource_id: "full_v", counter_type: "view" },
    ],
  });
  expect(batch.status).toBe(200);
  expect((await json(batch)).data.map((d: { count: number }) => d.count)).toEqual([3, 15]);
  const hot = await t.get("/api/v1/counter/hot/view?period=all");
  expect(hot.status).toBe(200);
  expect((await json(hot)).data.items).toEqual([{ resource_id: "full_v", count: 15 }]);
  // A week is the sum of its days, kept a minute by a writing script: refused here, the days' union is read instead.
  for (const period of ["day", "week"]) {
    const ranked = await t.get(`/api/v1/counter/hot/like?period=${period}`);
    expect(ranked.status, period).toBe(200);
    expect((await json(ranked)).data.items, period).toEqual([{ resource_id: "full_a", count: 3 }]);
  }
}

/** A write is refused before it runs: 503, not applied, and the log names the cause. */
async function expectWriteRefused(t: App, refusal: string, reply: RegExp): Promise<void> {
  for (const body of [
    { resource_id: "full_a", counter_type: "like", user_id: "u9" },
    { resource_id: "full_v", counter_type: "view", user_id: "u9" },
  ]) {
    const res = await t.increment(body, { "idempotency-key": `refused-${body.counter_type}` });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    const answer = await json(res);
    expect(answer.may_have_applied).toBe(false);
    expect(answer.message).toBe(
      `The counter store refused it (${refusal}): the write was not applied. Retry shortly.`,
    );
  }
  // The request's record says the store refused it: /metrics counts it under kind="refused".
  const records = t.logger.lines.filter((l) => l.msg === "request" && l.status === 503);
  expect(records.length).toBeGreaterThanOrEqual(2);
  for (const record of records) expect(record.store_failure).toBe("refused");
  const logged = t.logger.lines.filter((l) => l.msg === "store unavailable");
  expect(logged.length).toBeGreaterThanOrEqual(2);
  for (const line of logged.slice(-2)) {
    expect(line.may_have_applied).toBe(false);
    expect(JSON.stringify(line.error)).toMatch(reply);
    expect(JSON.stringify(line.error)).not.toContain("no answer within");
  }
}

async function expectDegraded(t: App, refusal: string): Promise<void> {
  const res = await t.get("/health?deep=1");
  expect(res.status).toBe(503);
  expect(await json(res)).toMatchObject({ status: "degraded", store_error: refusal, code: 503 });
}

async function setMaxmemory(url: string, bytes: number): Promise<void> {
  const admin = new Redis(url);
  try {
    await admin.config("SET", "maxmemory-policy", "noeviction");
    await admin.config("SET", "maxmemory", String(bytes));
  } finally {
    admin.disconnect();
  }
}

function outOfMemorySuite(name: string, start: () => Promise<Backend & { server: RedisServer }>) {
  describe(`${name} out of memory (maxmemory below its use, noeviction)`, () => {
    let backend: Backend & { server: RedisServer };
    let store: CounterStore;
    beforeAll(async () => {
      backend = await start();
      store = backend.store();
    }, 30_000);
    afterAll(() => backend?.stop());

    it("serves every read exactly, refuses writes as not applied, and reports degraded", async () => {
      // A rate limit on reads too: a store that cannot count it lets reads through.
      const t = testApp(store, { rateLimits: { ip: { limit: 1000, windowMs: 60_000 } } });
      await seed(t);
      expect((await t.get("/health?deep=1")).status).toBe(200);
      await setMaxmemory(backend.server.url, 1);
      try {
        await expectReadsServed(t);
        await expectWriteRefused(t, "out of memory", /OOM command not allowed/);
        await expectDegraded(t, "out of memory");
      } finally {
        await setMaxmemory(backend.server.url, 0);
      }
      // Nothing refused was applied, and writes work again once memory is freed.
      await expectReadsServed(t);
      const again = await t.increment({ resource_id: "full_v", counter_type: "view", user_id: "u9" });
      expect((await json(again)).data.count).toBe(16);
      expect((await t.get("/health?deep=1")).status).toBe(200);
    });
  });
}

outOfMemorySuite("Redis", redisBackend);
outOfMemorySuite("The Upstash endpoint over a Redis", upstashBackend);

describe("a read-only replica", () => {
  let primary: RedisServer;
  let replica: RedisServer;
  const prefix = randomPrefix();
  beforeAll(async () => {
    primary = await startRedis();
    replica = await startRedis(["--replicaof", "127.0.0.1", String(primary.port)]);
  }, 30_000);
  afterAll(async () => {
    await replica?.stop();
    await primary?.stop();
  });

  it("serves reads, refuses writes as not applied, and reports degraded", async () => {
    const onPrimary = createRedisClient(primary.url, false, 1000);
    const onReplica = createRedisClient(replica.url, false, 1000);
    try {
      await seed(testApp(createRedisStore(onPrimary, { keyPrefix: prefix, timeoutMs: 1000 })));
      const check = new Redis(replica.url);
      // The replica has the seeded data once it has synced and replayed the last write.
      for (let i = 0; i < 200; i++) {
        const info = await check.info("replication");
        if (info.includes("master_link_status:up") && (await check.dbsize()) >= 8) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      check.disconnect();
      const t = testApp(createRedisStore(onReplica, { keyPrefix: prefix, timeoutMs: 1000 }));
      await expectReadsServed(t);
      await expectWriteRefused(t, "read-only", /READONLY/);
      await expectDegraded(t, "read-only");
    } finally {
      onPrimary.disconnect();
      onReplica.disconnect();
    }
  });
});
