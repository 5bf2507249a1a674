// Round trips per request, as the spec promises: one per request on Redis and Upstash, at
// most two per increment on Redis Cluster; on Upstash one billed command per increment
// and per batch of 100. Counted where they arrive: Redis MONITOR and the endpoint's log.

import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CounterStore } from "../../shared/domain/model.ts";
import { DEFAULT_RANKING_SHARDS } from "../../shared/domain/model.ts";
import { applyQueuedEvents } from "../../shared/runtime/events-consumer.ts";
import { shardOf } from "../../shared/stores/key-layout.ts";
import { clusterBackend, redisBackend, upstashBackend } from "../support/backends.ts";
import { testApp } from "../support/test-app.ts";

type Requests = ReturnType<typeof testApp>;

const batch100 = {
  queries: Array.from({ length: 100 }, (_, i) => ({
    resource_id: `b${i}`,
    counter_type: i % 2 ? "like" : "view",
  })),
};

/** Every request shape the spec counts, each run once to load scripts first. */
const shapes: [string, (t: Requests) => Promise<Response>][] = [
  ["increment (total)", (t) => t.increment({ resource_id: "r", counter_type: "view", user_id: "u" })],
  [
    "increment (unique)",
    (t) => t.increment({ resource_id: "r", counter_type: "like", user_id: `u${Math.random()}` }),
  ],
  [
    "increment with Idempotency-Key",
    (t) =>
      t.increment(
        { resource_id: "r", counter_type: "view", user_id: "u" },
        { "idempotency-key": `k${Math.random()}` },
      ),
  ],
  ["get", (t) => t.get("/api/v1/counter/r/view")],
  ["get with user_id", (t) => t.get("/api/v1/counter/r/like?user_id=u")],
  ["batch of 100", (t) => t.post("/api/v1/counter/batch", batch100)],
  [
    "batch of 100 increments, with an Idempotency-Key",
    (t) =>
      t.post(
        "/api/v1/counter/increments",
        {
          increments: Array.from({ length: 100 }, (_, i) => ({
            resource_id: `r${i % 7}`,
            counter_type: i % 2 ? "view" : "like",
            user_id: `u${Math.random()}`,
          })),
        },
        { "idempotency-key": `k${Math.random()}` },
      ),
  ],
  ["hot", (t) => t.get("/api/v1/counter/hot/view?period=day")],
];

// What ioredis sends on its own to keep a connection or the cluster map up to date.
const UPKEEP = new Set(["cluster", "info", "client", "command", "readonly", "select", "hello", "auth"]);

/**
 * Watches the commands requests send to Redis, through `redis-cli monitor` (commands run by
 * scripts say "lua" and are left out). redis-cli rather than ioredis: an ioredis client in
 * MONITOR mode can take a monitored line for a reply and fail ("Command queue state error").
 */
async function monitor(ports: number[]) {
  const seen: string[] = [];
  const children = ports.map((port) =>
    spawn("redis-cli", ["-p", String(port), "monitor"], { stdio: ["ignore", "pipe", "ignore"] }),
  );
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          let buffer = "";
          child.stdout.on("data", (chunk: Buffer) => {
            buffer += chunk.toString("utf8");
            const lines = buffer.split("\n");
            buffer = lines.pop() ?? "";
            for (const line of lines) {
              if (line.trim() === "OK") resolve();
              const match = line.match(/^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"/);
              if (!match) continue;
              const [, source, name] = match;
              if (source !== "lua" && !UPKEEP.has(String(name).toLowerCase()))
                seen.push(String(name).toLowerCase());
            }
          });
        }),
    ),
  );
  return {
    seen,
    settle: () => new Promise((r) => setTimeout(r, 100)),
    stop: async () => {
      for (const child of children) child.kill();
    },
  };
}

describe("round trips on Redis", () => {
  let backend: Awaited<ReturnType<typeof redisBackend>>;
  let store: CounterStore;
  beforeAll(async () => {
    backend = await redisBackend();
    store = backend.store();
  }, 30_000);
  afterAll(() => backend.stop());

  for (const [name, send] of shapes) {
    it(`${name}: 1`, async () => {
      const t = testApp(store);
      expect((await send(t)).status).toBe(200);
      const m = await monitor([backend.server.port]);
      try {
        await m.settle();
        expect((await send(t)).status).toBe(200);
        await m.settle();
        expect(m.seen).toEqual([expect.stringMatching(/^evalsha$/)]);
      } finally {
        await m.stop();
      }
    });
  }
});

describe("queued events: store calls per event", () => {
  const events = (n: number, counters: number, from = 0) =>
    Array.from({ length: n }, (_, i) => ({
      eventId: `e${from + i}`,
      resourceId: `r${i % counters}`,
      type: "view",
      kind: "total" as const,
      userId: `u${i % 13}`,
      delta: 1,
    }));

  it("Redis: one call per distinct counter, so 1,000 events of a hot counter take 1 (0.001 per event)", async () => {
    const backend = await redisBackend();
    const store = backend.store();
    try {
      await applyQueuedEvents(store, events(10, 10, 100_000), Date.now()); // scripts loaded
      const m = await monitor([backend.server.port]);
      try {
        await m.settle();
        expect((await applyQueuedEvents(store, events(1000, 1), Date.now())).applied).toBe(1000);
        await m.settle();
        expect(m.seen).toEqual(["evalsha"]);
        m.seen.length = 0;
        expect((await applyQueuedEvents(store, events(5000, 50, 1000), Date.now())).applied).toBe(5000);
        await m.settle();
        expect(m.seen).toEqual(Array(50).fill("evalsha"));
      } finally {
        await m.stop();
      }
    } finally {
      await backend.stop();
    }
  });

  it("Upstash: one billed command per distinct counter", async () => {
    const backend = await upstashBackend();
    const store = backend.store();
    try {
      await applyQueuedEvents(store, events(10, 10, 100_000), Date.now());
      const commands = backend.endpoint.commands.length;
      expect((await applyQueuedEvents(store, events(1000, 1), Date.now())).applied).toBe(1000);
      expect(backend.endpoint.commands.slice(commands).map((c) => c[0])).toEqual(["evalsha"]);
    } finally {
      await backend.stop();
    }
  });
});

describe("round trips with rate limits on Redis", () => {
  let backend: Awaited<ReturnType<typeof redisBackend>>;
  beforeAll(async () => {
    backend = await redisBackend();
  }, 30_000);
  afterAll(() => backend.stop());

  it("an increment still takes 1 (the limits ride in its script); a read takes 1 more", async () => {
    const t = testApp(backend.store(), {
      apiKeys: ["k-0123456789abcdef"],
      rateLimits: { user: { limit: 100, windowMs: 60_000 }, key: { limit: 100, windowMs: 60_000 } },
    });
    const write = () =>
      t.increment(
        { resource_id: "rl", counter_type: "view", user_id: "u" },
        { "x-api-key": "k-0123456789abcdef" },
      );
    const read = () => t.get("/api/v1/counter/rl/view", { "x-api-key": "k-0123456789abcdef" });
    expect((await write()).status).toBe(200);
    expect((await read()).status).toBe(200);
    const m = await monitor([backend.server.port]);
    try {
      await m.settle();
      expect((await write()).status).toBe(200);
      await m.settle();
      expect(m.seen).toEqual(["evalsha"]);
      m.seen.length = 0;
      expect((await read()).status).toBe(200);
      await m.settle();
      expect(m.seen).toEqual(["evalsha", "evalsha"]);
    } finally {
      await m.stop();
    }
  });
});

describe("round trips on Redis Cluster", () => {
  let backend: Awaited<ReturnType<typeof clusterBackend>>;
  let store: CounterStore;
  beforeAll(async () => {
    backend = await clusterBackend();
    store = backend.store();
  }, 30_000);
  afterAll(() => backend.stop());

  it("an applied increment is 2 round trips (counter, then ranking and a like's user index together); a no-op or replay is 1", async () => {
    const t = testApp(store);
    const body = { resource_id: "r", counter_type: "like", user_id: "alice" };
    // Scripts are loaded on first use per node: warm the ones this test then counts.
    await t.increment({ ...body, user_id: "warm" });
    await t.increment({ ...body, resource_id: "r0" });
    await t.increment({ ...body, counter_type: "view", user_id: "warm" });
    const m = await monitor(backend.cluster.ports);
    try {
      await m.settle();
      expect((await t.increment(body)).status).toBe(200);
      await m.settle();
      expect(m.seen).toEqual(["evalsha", "evalsha", "evalsha"]);
      m.seen.length = 0;
      expect((await t.increment({ ...body, counter_type: "view" })).status).toBe(200);
      await m.settle();
      expect(m.seen).toEqual(["evalsha", "evalsha"]);
      m.seen.length = 0;
      expect((await t.increment(body)).status).toBe(200); // already a member: nothing to rank
      await m.settle();
      expect(m.seen).toEqual(["evalsha"]);
    } finally {
      await m.stop();
    }
  });

  it("a batch of increments is one call per slot touched: each resource's, each type's ranking, each user's index", async () => {
    const t = testApp(store);
    const items = (users: string[]) =>
      ["a", "b", "c"].flatMap((resource_id) =>
        users.map((user_id) => ({ resource_id, counter_type: "like", user_id })),
      );
    // Warm: every script loaded on every node this test then counts.
    await t.post("/api/v1/counter/increments", { increments: items(["w1", "w2", "alice", "bob"]) });
    const m = await monitor(backend.cluster.ports);
    try {
      await m.settle();
      const res = await t.post("/api/v1/counter/increments", { increments: items(["carol", "dave"]) });
      expect(res.status).toBe(200);
      await m.settle();
      // 3 resources, the like ranking's shards they are in, 2 users' indexes: one call per slot.
      const shards = new Set(["a", "b", "c"].map((r) => shardOf(r, DEFAULT_RANKING_SHARDS))).size;
      expect(m.seen).toEqual(Array(3 + shards + 2).fill("evalsha"));
    } finally {
      await m.stop();
    }
  });

  it("a get is 1 call and a batch is one call per resource, sent together", async () => {
    const t = testApp(store);
    expect((await t.get("/api/v1/counter/r/like")).status).toBe(200);
    expect((await t.post("/api/v1/counter/batch", batch100)).status).toBe(200);
    const m = await monitor(backend.cluster.ports);
    try {
      await m.settle();
      await t.get("/api/v1/counter/r/like");
      await m.settle();
      expect(m.seen).toEqual(["evalsha"]);
    } finally {
      await m.stop();
    }
  });
});

describe("round trips and billed commands on Upstash", () => {
  let backend: Awaited<ReturnType<typeof upstashBackend>>;
  let store: CounterStore;
  beforeAll(async () => {
    backend = await upstashBackend();
    store = backend.store();
  }, 30_000);
  afterAll(() => backend.stop());

  for (const [name, send] of shapes) {
    it(`${name}: 1 request, 1 command`, async () => {
      const t = testApp(store);
      expect((await send(t)).status).toBe(200);
      const requests = backend.endpoint.requests;
      const commands = backend.endpoint.commands.length;
      expect((await send(t)).status).toBe(200);
      expect(backend.endpoint.requests - requests).toBe(1);
      expect(backend.endpoint.commands.slice(commands).map((c) => c[0])).toEqual(["evalsha"]);
    });
  }

  it("every script declares allow-key-locking, so none takes a database-wide lock", () => {
    expect(backend.endpoint.scripts.length).toBeGreaterThanOrEqual(3);
    for (const source of backend.endpoint.scripts) {
      const flags = /^#!lua flags=(\S+)$/.exec(source.split("\n")[0] ?? "")?.[1]?.split(",");
      expect(flags, source.split("\n")[0]).toContain("allow-key-locking");
    }
  });
});
