// Live streams when Redis fails: a hung Redis is a JSON 503 before any stream starts (the
// subscription has the store's deadline), holding nothing after; a stream open when Redis
// dies stays open and, once Redis is back, pushes again (the subscription is made again).

import { afterAll, beforeAll, expect, it } from "vitest";
import { LiveStreams } from "../../shared/http/live-streams.ts";
import { createRedisClient, createRedisStore, type RedisClient } from "../../shared/stores/redis.ts";
import { randomPrefix } from "../support/backends.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { readSse } from "../support/sse.ts";
import { json, testApp } from "../support/test-app.ts";

const TIMEOUT_MS = 500;
// "Never a hang": a generous bound on a 500 ms deadline, not a speed measurement.
const HANG_BOUND_MS = 2_000;

let server: RedisServer;
let client: RedisClient;
let live: LiveStreams;
let t: ReturnType<typeof testApp>;

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient(server.url, false, TIMEOUT_MS);
  client.on("error", () => {});
  const store = createRedisStore(client, { keyPrefix: randomPrefix(), timeoutMs: TIMEOUT_MS });
  live = new LiveStreams(store.changes, { intervalMs: 1 });
  t = testApp(store, { live });
}, 30_000);
afterAll(async () => {
  client.disconnect();
  await server.stop();
});

const view = (resource: string) => t.increment({ resource_id: resource, counter_type: "view", user_id: "u" });

it("answers a hung Redis with a JSON 503 before a stream starts, and holds nothing after", async () => {
  server.pause();
  try {
    const started = performance.now();
    const res = await t.get("/api/v1/counter/f1/view/live");
    expect(performance.now() - started).toBeLessThan(HANG_BOUND_MS);
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect((await json(res)).code).toBe(503);
  } finally {
    server.resume();
  }
  expect(live.holdings()).toEqual({ streams: 0, addresses: 0, counters: 0, viewers: 0, timers: 0 });
}, 30_000);

it("keeps a stream open while Redis is down, and pushes again once it is back", async () => {
  for (let i = 0; i < 100 && (await view("f2")).status !== 200; i++)
    await new Promise((r) => setTimeout(r, 100));
  const sse = readSse(await t.get("/api/v1/counter/f2/view/live"));
  await sse.until(1);
  const before = sse.counts().at(-1) as number;
  await server.kill();
  expect((await view("f2")).status).toBe(503);
  await server.restart();
  // A fresh server: the count starts again; the stream hears the first write after the restart.
  let count = 0;
  for (let i = 0; i < 100; i++) {
    const res = await view("f2");
    if (res.status === 200) {
      count = (await json(res)).data.count;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(count).toBeGreaterThan(0);
  for (let i = 0; i < 50 && sse.counts().length < 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (sse.counts().length < 2) await view("f2");
  }
  expect(sse.ended()).toBe(false);
  expect(sse.counts().length).toBeGreaterThan(1);
  expect(sse.counts()[0]).toBe(before);
  await sse.cancel();
}, 30_000);
