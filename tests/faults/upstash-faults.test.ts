// The Upstash REST path under faults: a hung endpoint, a dropped connection, Redis gone
// behind it. Fast 503s, exactly one request per write (no client retry), and recovery.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUpstashClient, createUpstashStore } from "../../shared/stores/upstash.ts";
import { randomPrefix } from "../support/backends.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { json, testApp } from "../support/test-app.ts";
import { startUpstashEndpoint, type UpstashEndpoint } from "../support/upstash-endpoint.ts";

const TIMEOUT_MS = 500;
const HANG_BOUND_MS = 2_000;

let server: RedisServer;
let endpoint: UpstashEndpoint;
let t: ReturnType<typeof testApp>;

beforeAll(async () => {
  server = await startRedis();
  endpoint = await startUpstashEndpoint(server.url);
  const client = createUpstashClient(endpoint.url, endpoint.token, TIMEOUT_MS);
  t = testApp(createUpstashStore(client, { keyPrefix: randomPrefix(), timeoutMs: TIMEOUT_MS }));
}, 30_000);
afterAll(async () => {
  await endpoint.close();
  await server.stop();
});

const incrementView = (resource: string) =>
  t.increment({ resource_id: resource, counter_type: "view", user_id: "u" });
const countOf = async (resource: string) =>
  (await json(await t.get(`/api/v1/counter/${resource}/view`))).data.count;

describe("Upstash endpoint faults", () => {
  it("a hung request answers 503 within the deadline; the next one succeeds", async () => {
    expect((await incrementView("h1")).status).toBe(200);
    endpoint.hangNext(1);
    const started = performance.now();
    const res = await incrementView("h1");
    expect(performance.now() - started).toBeLessThan(HANG_BOUND_MS);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    const body = await json(res);
    expect(body.message).toContain("it may have been applied");
    expect(body.may_have_applied).toBe(true);
    expect((await incrementView("h1")).status).toBe(200);
  });

  it("a dropped connection is not retried behind the caller's back", async () => {
    expect((await incrementView("d1")).status).toBe(200);
    const before = endpoint.requests;
    endpoint.dropNext(1);
    const res = await incrementView("d1");
    expect(res.status).toBe(503);
    expect(endpoint.requests - before).toBe(1);
    expect(await countOf("d1")).toBe(1);
  });

  it("Redis gone behind the endpoint answers 503 on every route, and recovers", async () => {
    await server.kill();
    for (const request of [
      () => incrementView("g1"),
      () => t.get("/api/v1/counter/g1/view"),
      () => t.post("/api/v1/counter/batch", { queries: [{ resource_id: "g1", counter_type: "view" }] }),
      () => t.get("/api/v1/counter/hot/view"),
      () => t.get("/health?deep=1"),
    ]) {
      const res = await request();
      expect(res.status).toBe(503);
      expect(await json(res)).toMatchObject({ error: "Service Unavailable", code: 503 });
    }
    await server.restart();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = (await incrementView("g2")).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(await countOf("g2")).toBe(1);
  }, 30_000);
});
