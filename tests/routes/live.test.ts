// The live route through app.request(): the current count first, then each change whatever
// the write path, coalesced per counter; the limits' JSON 429s before a stream starts;
// READ_AUTH; and a client that goes away leaves nothing behind (10,000 times).

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { LiveStreams } from "../../shared/http/live-streams.ts";
import type { Platform } from "../../shared/http/pipeline.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { readSse } from "../support/sse.ts";
import { json, testApp } from "../support/test-app.ts";

const LIVE = "/api/v1/counter/a1/view/live";

function liveApp(
  limits: ConstructorParameters<typeof LiveStreams>[1] = {},
  extra: Parameters<typeof testApp>[1] = {},
) {
  const store = createMemoryStore();
  const live = new LiveStreams(store.changes, { intervalMs: 10_000, ...limits });
  const t = testApp(store, { live, ...extra });
  const view = (delta: number, resource = "a1") =>
    t.increment({ resource_id: resource, counter_type: "view", user_id: "u1", increment: delta });
  return { ...t, store, live, view };
}

/** A platform that says each request comes from the address in its x-test-address header. */
const addressed: Platform = { clientAddress: (c) => c.req.header("x-test-address") };

describe("GET …/live", () => {
  it("sends the current count first with an id and retry, then a change", async () => {
    const t = liveApp({ intervalMs: 1 });
    await t.view(4);
    const res = await t.get(LIVE);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const sse = readSse(res);
    const [first] = await sse.until(1);
    expect(first).toEqual({ id: expect.stringMatching(/^\d+$/), retry: "3000", data: '{"count":4}' });
    await t.view(2);
    await sse.until(2);
    expect(sse.counts()).toEqual([4, 6]);
    await sse.cancel();
  });

  it("pushes a hot counter's burst as one event per interval: the latest count", async () => {
    const t = liveApp({ intervalMs: 10_000 });
    const sse = readSse(await t.get(LIVE));
    await sse.until(1);
    // The first change goes at once (no push for 10 s before it); the rest wait for the interval.
    for (let i = 0; i < 50; i++) await t.view(1);
    await sse.until(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(sse.counts()).toEqual([0, 1]);
    expect(t.live.holdings().timers).toBe(1);
    await sse.cancel();
    expect(t.live.holdings()).toEqual({ streams: 0, addresses: 0, counters: 0, viewers: 0, timers: 0 });
  });

  it("pushes every write path: batch, queued events, admin set and reset", async () => {
    const admin = "admin-key-0123456789abcdef";
    const t = liveApp({ intervalMs: 1 }, { adminKeys: [admin] });
    const sse = readSse(await t.get(LIVE));
    await sse.until(1);
    const step = async (n: number, write: () => Promise<Response> | Response) => {
      const res = await write();
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      await sse.until(n);
      await new Promise((r) => setTimeout(r, 5));
    };
    const item = { resource_id: "a1", counter_type: "view", user_id: "u1", increment: 2 };
    await step(2, () => t.post("/api/v1/counter/increments", { increments: [item, item] }));
    await step(3, async () => {
      const res = await t.post("/api/v1/counter/events", { events: [{ ...item, event_id: "e1" }] });
      const { applyQueuedEvents } = await import("../../shared/runtime/events-consumer.ts");
      const { decodeEvents } = await import("../../shared/domain/events.ts");
      for (const message of await t.queue.peek(10))
        await applyQueuedEvents(t.store, decodeEvents(message), Date.now());
      return res;
    });
    const auth = { authorization: `Bearer ${admin}`, "content-type": "application/json" };
    await step(4, () =>
      t.app.request("/api/v1/admin/counter/a1/view", { method: "PUT", headers: auth, body: '{"count":100}' }),
    );
    await step(5, () => t.app.request("/api/v1/admin/counter/a1/view", { method: "DELETE", headers: auth }));
    expect(sse.counts().slice(-4)).toEqual([4, 6, 100, 0]);
    await sse.cancel();
  });

  it("answers a JSON 429 before the stream starts past the per-address and the server's limits", async () => {
    const t = liveApp({ maxPerAddress: 2, maxConnections: 3 }, { platform: addressed });
    const from = (address: string) => t.get(LIVE, { "x-test-address": address });
    const a1 = readSse(await from("10.0.0.1"));
    const a2 = readSse(await from("10.0.0.1"));
    const third = await from("10.0.0.1");
    expect(third.status).toBe(429);
    expect(third.headers.get("content-type")).toMatch(/^application\/json/);
    expect((await json(third)).message).toBe("Too many live streams from one address: at most 2");
    const b1 = readSse(await from("10.0.0.2"));
    const full = await from("10.0.0.3");
    expect(full.status).toBe(429);
    expect((await json(full)).message).toBe("Too many live streams: this server holds 3");
    await a1.cancel();
    const again = await from("10.0.0.1");
    expect(again.status).toBe(200);
    for (const s of [a2, b1, readSse(again)]) await s.cancel();
    expect(t.live.holdings().streams).toBe(0);
  });

  it("needs a read key under READ_AUTH, and names a bad counter type with a 400", async () => {
    const t = liveApp({}, { readAuth: true, apiKeys: ["read-key-0123456789abcdef"] });
    expect((await t.get(LIVE)).status).toBe(401);
    const ok = await t.get(LIVE, { "x-api-key": "read-key-0123456789abcdef" });
    expect(ok.status).toBe(200);
    await readSse(ok).cancel();
    const bad = await t.get("/api/v1/counter/a1/nope/live", { "x-api-key": "read-key-0123456789abcdef" });
    expect(bad.status).toBe(400);
    expect((await json(bad)).details[0].path).toBe("counter_type");
  });

  it("ends every stream when the server drains", async () => {
    const t = liveApp();
    const sse = readSse(await t.get(LIVE));
    await sse.until(1);
    t.live.endAll();
    for (let i = 0; i < 100 && !sse.ended(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(sse.ended()).toBe(true);
    expect(t.live.holdings()).toEqual({ streams: 0, addresses: 0, counters: 0, viewers: 0, timers: 0 });
  });

  it("leaves no stream, listener, timer or memory behind after 10,000 connect and abort cycles", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // Requests observed by no logger: the test logger keeps every line.
    const t = liveApp({ intervalMs: 1 }, { observe: () => {} });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const cycle = async (i: number) => {
      const sse = readSse(await t.get(`/api/v1/counter/r${i % 50}/view/live`));
      await sse.until(1);
      await sse.cancel();
    };
    for (let i = 0; i < 200; i++) await cycle(i); // warm up
    await new Promise((r) => setTimeout(r, 20));
    gc();
    const before = { heap: process.memoryUsage().heapUsed, timers: timers() };
    for (let i = 0; i < 10_000; i++) await cycle(i);
    await new Promise((r) => setTimeout(r, 20));
    gc();
    expect(t.live.holdings()).toEqual({ streams: 0, addresses: 0, counters: 0, viewers: 0, timers: 0 });
    expect(t.store.changes.listenerCount).toBe(0);
    expect(timers()).toBeLessThanOrEqual(before.timers);
    // A leak of even 300 bytes a cycle would show as 3 MB.
    expect(process.memoryUsage().heapUsed - before.heap).toBeLessThan(3_000_000);
  }, 120_000);
});
