// A real redis-server killed, paused (SIGSTOP) and restarted under the app: fast 503s with
// Retry-After, no hang, no crash, no write sent twice, and recovery without a restart.

import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, createRedisStore, type RedisClient } from "../../shared/stores/redis.ts";
import { randomPrefix } from "../support/backends.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { json, testApp } from "../support/test-app.ts";

const TIMEOUT_MS = 500;
// "Never a hang": a generous bound on a 500 ms deadline, not a speed measurement.
const HANG_BOUND_MS = 2_000;

let server: RedisServer;
let client: RedisClient;
let t: ReturnType<typeof testApp>;
const prefix = randomPrefix();

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient(server.url, false, TIMEOUT_MS);
  client.on("error", () => {});
  t = testApp(createRedisStore(client, { keyPrefix: prefix, timeoutMs: TIMEOUT_MS }));
}, 30_000);
afterAll(async () => {
  client.disconnect();
  await server.stop();
});

const incrementView = (resource: string) =>
  t.increment({ resource_id: resource, counter_type: "view", user_id: "u" });

async function timed(request: () => Promise<Response>) {
  const started = performance.now();
  const res = await request();
  return { res, body: await json(res), ms: performance.now() - started };
}

async function waitFor200(request: () => Promise<Response>, withinMs = 15_000): Promise<Response> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const res = await request();
    if (res.status === 200) return res;
    if (Date.now() > deadline) throw new Error(`still ${res.status} after ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function expect503(outcome: { res: Response; body: Record<string, unknown>; ms: number }) {
  expect(outcome.res.status).toBe(503);
  expect(outcome.res.headers.get("retry-after")).toBe("1");
  expect(outcome.body).toMatchObject({ error: "Service Unavailable", code: 503 });
  expect(outcome.ms).toBeLessThan(HANG_BOUND_MS);
}

describe("Redis killed", () => {
  it("answers 503 on every route within the deadline, then recovers by itself", async () => {
    expect((await incrementView("k1")).status).toBe(200);
    await server.kill();
    const routes: (() => Promise<Response>)[] = [
      () => incrementView("k1"),
      () => t.get("/api/v1/counter/k1/view"),
      () => t.post("/api/v1/counter/batch", { queries: [{ resource_id: "k1", counter_type: "view" }] }),
      () => t.get("/api/v1/counter/hot/view"),
      () => t.get("/health?deep=1"),
    ];
    for (const route of routes) expect503(await timed(route));
    // Once the client knows the connection is gone, a write is refused before it is sent.
    const refused = await timed(() => incrementView("k1"));
    expect503(refused);
    expect(refused.body.message).toContain("the write was not applied");
    expect(refused.body.may_have_applied).toBe(false);
    // The shallow health check does not touch the store and stays up.
    expect((await t.get("/health")).status).toBe(200);
    // Each 503's record says the store did not answer: /metrics counts it under kind="unavailable".
    const failed = t.logger.lines.filter((l) => l.msg === "request" && l.status === 503);
    expect(failed.map((l) => l.store_failure)).toEqual(failed.map(() => "unavailable"));
    expect(failed.length).toBeGreaterThanOrEqual(6);

    await server.restart();
    await waitFor200(() => incrementView("k2"));
    expect((await json(await t.get("/api/v1/counter/k2/view"))).data.count).toBe(1);
    expect((await t.get("/health?deep=1")).status).toBe(200);
  }, 30_000);
});

describe("Redis paused (hung)", () => {
  it("answers 503 within the deadline, says a write may have been applied, and recovers", async () => {
    await waitFor200(() => t.get("/health?deep=1"));
    server.pause();
    try {
      const write = await timed(() => incrementView("p1"));
      expect503(write);
      expect(write.body.message).toContain("it may have been applied");
      expect(write.body.may_have_applied).toBe(true);
      expect503(await timed(() => t.get("/api/v1/counter/p1/view")));
    } finally {
      server.resume();
    }
    // The write reached Redis before the pause took hold of the answer: it was applied,
    // which is why the 503 said it may have been.
    const res = await waitFor200(() => t.get("/api/v1/counter/p1/view"));
    expect((await json(res)).data.count).toBe(1);
  }, 30_000);
});

describe("a network partition to a live Redis", () => {
  it("never sends a write whose outcome was unknown again after reconnecting", async () => {
    const proxy = await startTcpProxy(server.port);
    const viaProxy = createRedisClient(`redis://127.0.0.1:${proxy.port}`, false, TIMEOUT_MS);
    viaProxy.on("error", () => {});
    const app = testApp(createRedisStore(viaProxy, { keyPrefix: prefix, timeoutMs: TIMEOUT_MS }));
    try {
      await waitFor200(() => app.get("/health?deep=1"));
      // Load the scripts, so a resent EVALSHA would run rather than fail with NOSCRIPT.
      expect((await app.increment({ resource_id: "warm", counter_type: "view", user_id: "u" })).status).toBe(
        200,
      );
      proxy.blackhole(true);
      const write = await timed(() =>
        app.increment({ resource_id: "n1", counter_type: "view", user_id: "u" }),
      );
      expect503(write);
      expect(write.body.message).toContain("it may have been applied");
      expect(write.body.may_have_applied).toBe(true);
      proxy.cut();
      proxy.blackhole(false);
      await waitFor200(() => app.get("/health?deep=1"));
      await new Promise((r) => setTimeout(r, 300));
      // The write never reached Redis, and the client did not send it again on reconnect.
      expect((await json(await app.get("/api/v1/counter/n1/view"))).data.count).toBe(0);
    } finally {
      viaProxy.disconnect();
      await proxy.close();
    }
  }, 30_000);
});

describe("unexpected store errors", () => {
  it("answer a generic 500 that echoes no internals, and log the cause", async () => {
    await waitFor200(() => t.get("/health?deep=1"));
    const direct = new Redis(server.url);
    try {
      // A key of the wrong type makes the script fail inside Redis (WRONGTYPE).
      await direct.set(`${prefix}:{broken}:u:like`, "not-a-set");
    } finally {
      direct.disconnect();
    }
    const res = await t.increment({ resource_id: "broken", counter_type: "like", user_id: "u" });
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(JSON.parse(text)).toEqual({
      error: "Internal Server Error",
      code: 500,
      message: "An unexpected error occurred",
    });
    expect(text).not.toMatch(/WRONGTYPE|broken|script|stack/i);
    const logged = t.logger.lines.find((l) => l.msg === "unexpected error");
    expect(JSON.stringify(logged)).toContain("WRONGTYPE");
  });
});
