// Batches of increments, POST /api/v1/counter/increments, through app.request(): each item
// answered as a single increment, bad items named by index with nothing applied, one
// Idempotency-Key for the whole batch, rate limits per item's user.

import { describe, expect, it } from "vitest";
import { createHighPressClient } from "../../shared/client/client.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { json, lossyFetch, testApp } from "../support/test-app.ts";

const path = "/api/v1/counter/increments";
const item = (resource_id: string, counter_type: string, user_id = "u1", increment?: number) => ({
  resource_id,
  counter_type,
  user_id,
  ...(increment === undefined ? {} : { increment }),
});

describe("POST /api/v1/counter/increments", () => {
  it("answers one result per item, in order, as single increments do", async () => {
    const t = testApp(createMemoryStore());
    const res = await t.post(path, {
      increments: [item("a", "view", "u1", 5), item("a", "like"), item("a", "like"), item("b", "view", "u2")],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("idempotent-replayed")).toBeNull();
    expect((await json(res)).data).toEqual([
      { resource_id: "a", counter_type: "view", count: 5, success: true, applied: true },
      { resource_id: "a", counter_type: "like", count: 1, success: true, applied: true },
      { resource_id: "a", counter_type: "like", count: 1, success: true, applied: false },
      { resource_id: "b", counter_type: "view", count: 1, success: true, applied: true },
    ]);
  });

  it("names every bad item by index, and applies nothing", async () => {
    const t = testApp(createMemoryStore());
    const res = await t.post(path, {
      increments: [item("ok", "view"), item("ok", "nope"), item("a b", "like"), item("ok", "like", "u1", 2)],
    });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.details.map((d: { path: string }) => d.path)).toEqual([
      "increments[1].counter_type",
      "increments[2].resource_id",
      "increments[3].increment",
    ]);
    expect(body.message).toMatch(/^increments\[1\]\.counter_type: must be one of/);
    expect((await json(await t.get("/api/v1/counter/ok/view"))).data.count).toBe(0);
    for (const [bad, path] of [
      [[], "body"],
      [{}, "increments"],
      [{ increments: "x" }, "increments"],
      [{ increments: [] }, "increments"],
      [{ increments: Array.from({ length: 101 }, () => item("x", "view")) }, "increments"],
      [{ increments: [42] }, "increments[0]"],
    ] as const) {
      const refused = await t.post("/api/v1/counter/increments", bad);
      expect(refused.status, JSON.stringify(bad).slice(0, 40)).toBe(400);
      expect((await json(refused)).details[0].path).toBe(path);
    }
  });

  it("replays the whole batch for a repeated Idempotency-Key, and 422s a changed one", async () => {
    const t = testApp(createMemoryStore());
    const batch = { increments: [item("i1", "view", "u1", 2), item("i1", "like")] };
    const first = await t.post(path, batch, { "idempotency-key": "batch-1" });
    const again = await t.post(path, batch, { "idempotency-key": "batch-1" });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.text()).toBe(await first.text());
    const changed = { increments: [item("i1", "view", "u1", 2), item("i1", "like", "u9")] };
    const conflict = await t.post(path, changed, { "idempotency-key": "batch-1" });
    expect(conflict.status).toBe(422);
    expect((await json(conflict)).message).toMatch(
      /^Idempotency-Key: this key was already used with a different request \(/,
    );
    expect((await json(await t.get("/api/v1/counter/i1/view"))).data.count).toBe(2);
  });

  it("answers 409 naming the item that would pass 2^53 - 1, applying nothing", async () => {
    const set = { resourceId: "big", type: "view", kind: "total" as const };
    const store = createMemoryStore();
    const app = testApp(store);
    await store.setCount(set, Number.MAX_SAFE_INTEGER - 1, Date.now());
    const res = await app.post(path, { increments: [item("small", "view"), item("big", "view", "u1", 2)] });
    expect(res.status).toBe(409);
    expect((await json(res)).details[0].path).toBe("increments[1].increment");
    expect((await json(await app.get("/api/v1/counter/small/view"))).data.count).toBe(0);
  });

  it("count each item against its user_id, and the request once against the address", async () => {
    const t = testApp(createMemoryStore(), {
      rateLimits: { user: { limit: 3, windowMs: 60_000 }, ip: { limit: 2, windowMs: 60_000 } },
    });
    const four = { increments: Array.from({ length: 4 }, (_, i) => item(`r${i}`, "view", "heavy")) };
    // Four items of one user can never fit a limit of 3: a 400 naming the first item past it.
    const impossible = await t.post(path, four);
    expect(impossible.status).toBe(400);
    expect((await json(impossible)).details[0]).toMatchObject({
      path: "increments[3].user_id",
      message: expect.stringMatching(/^more than RATE_LIMIT_USER allows for one user_id \(3 every 60 s\)/),
    });
    const two = { increments: four.increments.slice(0, 2) };
    expect((await t.post(path, two)).status).toBe(200);
    // Two more would make four in the window: that one waits (429), it is not impossible.
    const refused = await t.post(path, two);
    expect(refused.status).toBe(429);
    expect((await json(refused)).details[0].path).toBe("user");
    // The address counted each request once (the refused ones not at all): it is full now.
    expect((await t.post(path, { increments: [item("x", "view", "light")] })).status).toBe(200);
    expect((await t.post(path, { increments: [item("x", "view", "light")] })).status).toBe(429);
  });

  it("is in the typed client, which retries it safely", async () => {
    const store = createMemoryStore();
    const t = testApp(store);
    const client = createHighPressClient({ baseUrl: "http://hp.test", fetch: lossyFetch(t.app) });
    const { results, replayed } = await client.incrementMany([
      item("c1", "view", "u1", 3),
      item("c1", "view", "u2", 4),
    ]);
    expect(results.map((r) => r.count)).toEqual([3, 7]);
    expect(replayed).toBe(true); // the first answer was lost after it applied
    expect((await json(await t.get("/api/v1/counter/c1/view"))).data.count).toBe(7);
  });
});
