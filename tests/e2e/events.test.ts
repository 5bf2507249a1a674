// The local queued-events path end to end: the server process on a real Redis takes 10,000
// events (2,000 of them repeating an earlier event_id) in 100 POSTs, queues them in the
// store, and its consumer counts each distinct event exactly once.

import { afterAll, beforeAll, expect, it } from "vitest";
import { runNode } from "../support/node-process.ts";
import { freePort, type RedisServer, startRedis } from "../support/redis-server.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(() => redis.stop());

const RESOURCES = 50;

it("counts 10,000 queued events with 2,000 duplicate event_ids exactly", async () => {
  const port = await freePort();
  const server = await runNode(
    ["shared/runtime/server.ts"],
    { HOST: "127.0.0.1", PORT: String(port), REDIS_URL: redis.url },
    "highpress listening",
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    // Ids 0..7999, then 2,000 of them again; event n views resource n % 50 as user n % 7.
    const ids = [
      ...Array.from({ length: 8000 }, (_, n) => n),
      ...Array.from({ length: 2000 }, (_, n) => n * 4),
    ];
    const expected = new Array(RESOURCES).fill(0);
    for (let n = 0; n < 8000; n++) expected[n % RESOURCES]++;
    const started = performance.now();
    for (let post = 0; post < 100; post++) {
      const events = ids.slice(post * 100, post * 100 + 100).map((n) => ({
        resource_id: `post_${n % RESOURCES}`,
        counter_type: "view",
        user_id: `user_${n % 7}`,
        event_id: `ev-${n}`,
      }));
      const res = await fetch(`${base}/api/v1/counter/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ events }),
      });
      expect(res.status).toBe(202);
    }
    const queries = Array.from({ length: RESOURCES }, (_, r) => ({
      resource_id: `post_${r}`,
      counter_type: "view",
    }));
    let counts: number[] = [];
    for (let attempt = 0; attempt < 300; attempt++) {
      const res = await fetch(`${base}/api/v1/counter/batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ queries }),
      });
      counts = ((await res.json()) as { data: { count: number }[] }).data.map((d) => d.count);
      if (counts.reduce((a, b) => a + b, 0) >= 8000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Measured, not asserted (shared machine): how long until every event was counted.
    process.stdout.write(
      `queued events counted ${Math.round(performance.now() - started)} ms after the first POST\n`,
    );
    expect(counts).toEqual(expected);
    // Counted once: nothing more arrives later.
    await new Promise((r) => setTimeout(r, 500));
    const again = await fetch(`${base}/api/v1/counter/post_0/view`);
    expect(((await again.json()) as { data: { count: number } }).data.count).toBe(expected[0]);
  } finally {
    server.process.kill("SIGTERM");
    await server.exited;
  }
  expect(server.output()).not.toMatch(/"level":"(error|warn)"/);
}, 60_000);
