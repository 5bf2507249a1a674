// Live counts across processes: two local servers on one Redis each push a change applied
// through the other (single increments, batches and queued events), and a server that drains
// ends its streams and exits 0.

import { afterAll, beforeAll, expect, it } from "vitest";
import { startServerProcess } from "../support/node-process.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { readSse } from "../support/sse.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(() => redis.stop());

const server = () =>
  startServerProcess({
    REDIS_URL: redis.url,
    WORKERS: "1",
    KEY_PREFIX: "live",
    LIVE_INTERVAL_MS: "100",
    LOG_LEVEL: "warn",
  });

const post = (base: string, path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

it("pushes a change applied through either of two servers on one Redis, whatever the write path", async () => {
  const [a, b] = [await server(), await server()];
  try {
    const onA = readSse(await fetch(`${a.base}/api/v1/counter/x1/view/live`));
    const onB = readSse(await fetch(`${b.base}/api/v1/counter/x1/like/live`));
    await onA.until(1);
    await onB.until(1);
    // /metrics counts the open stream.
    expect(await (await fetch(`${a.base}/metrics`)).text()).toContain("highpress_live_streams 1");
    const view = { resource_id: "x1", counter_type: "view", user_id: "u1", increment: 3 };
    expect((await post(b.base, "/api/v1/counter/increment", view)).status).toBe(200);
    await onA.until(2);
    expect(onA.counts()).toEqual([0, 3]);
    const like = { resource_id: "x1", counter_type: "like", user_id: "u1", increment: 1 };
    expect((await post(a.base, "/api/v1/counter/increments", { increments: [like, view] })).status).toBe(200);
    await onB.until(2);
    expect(onB.counts()).toEqual([0, 1]);
    await onA.until(3);
    expect(onA.counts()).toEqual([0, 3, 6]);
    // Queued on B, counted by B's consumer, pushed by A.
    const queued = await post(b.base, "/api/v1/counter/events", { events: [{ ...view, event_id: "q1" }] });
    expect(queued.status).toBe(202);
    await onA.until(4, 5000);
    expect(onA.counts()).toEqual([0, 3, 6, 9]);

    a.node.process.kill("SIGTERM");
    expect(await a.node.exited).toBe(0);
    for (let i = 0; i < 100 && !onA.ended(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(onA.ended()).toBe(true);
    await onB.cancel();
  } finally {
    for (const s of [a, b]) if (s.node.process.exitCode === null) s.node.process.kill("SIGKILL");
  }
}, 60_000);
