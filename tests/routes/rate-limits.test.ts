import { describe, expect, it } from "vitest";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { json, testApp } from "../support/test-app.ts";

const KEY = "rate-limit-key-0123456789";

describe("rate limits over HTTP", () => {
  it("answer 429 with Retry-After and RateLimit-* headers per user_id on writes, applying nothing", async () => {
    const t = testApp(createMemoryStore(), { rateLimits: { user: { limit: 2, windowMs: 60_000 } } });
    const body = { resource_id: "r", counter_type: "view", user_id: "spammer" };
    expect((await t.increment(body)).status).toBe(200);
    expect((await t.increment(body)).status).toBe(200);
    const refused = await t.increment(body);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(refused.headers.get("ratelimit-limit")).toBe("2");
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    expect(refused.headers.get("ratelimit-reset")).toBe(refused.headers.get("retry-after"));
    const envelope = await json(refused);
    expect(envelope).toMatchObject({ error: "Too Many Requests", code: 429, details: [{ path: "user" }] });
    expect(envelope.message).toContain("user_id");
    expect((await t.increment({ ...body, user_id: "someone-else" })).status).toBe(200);
    expect((await json(await t.get("/api/v1/counter/r/view"))).data.count).toBe(3);
  });

  it("count reads and writes per API key, naming the key by a digest only", async () => {
    const t = testApp(createMemoryStore(), {
      apiKeys: [KEY],
      rateLimits: { key: { limit: 3, windowMs: 60_000 } },
    });
    const headers = { "x-api-key": KEY };
    expect(
      (await t.increment({ resource_id: "r", counter_type: "like", user_id: "u" }, headers)).status,
    ).toBe(200);
    expect((await t.get("/api/v1/counter/r/like", headers)).status).toBe(200);
    expect(
      (
        await t.post(
          "/api/v1/counter/batch",
          { queries: [{ resource_id: "r", counter_type: "like" }] },
          headers,
        )
      ).status,
    ).toBe(200);
    const refused = await t.get("/api/v1/counter/hot/like", headers);
    expect(refused.status).toBe(429);
    expect(await refused.text()).not.toContain(KEY);
    // Without a key, or with a made-up one, the per-key limit does not apply (reads are public).
    expect((await t.get("/api/v1/counter/r/like")).status).toBe(200);
    expect((await t.get("/api/v1/counter/r/like", { "x-api-key": "made-up-key-0123456789" })).status).toBe(
      200,
    );
  });

  it("are off unless configured", async () => {
    const t = testApp(createMemoryStore());
    for (let i = 0; i < 50; i++) {
      expect((await t.increment({ resource_id: "r", counter_type: "view", user_id: "u" })).status).toBe(200);
    }
  });
});
