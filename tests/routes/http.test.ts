import { describe, expect, it } from "vitest";
import { VERSION } from "../../shared/http/version.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { json, testApp } from "../support/test-app.ts";

describe("GET /health", () => {
  it("answers the service, version and store", async () => {
    const t = testApp(createMemoryStore());
    const res = await t.get("/health");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      status: "ok",
      service: "highpress",
      version: VERSION,
      store: "memory",
    });
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("refuses a deep= it does not document, naming it", async () => {
    const t = testApp(createMemoryStore());
    for (const deep of ["yes", "2", "TRUE", ""]) {
      const res = await t.get(`/health?deep=${deep}`);
      expect(res.status, deep).toBe(400);
      expect((await json(res)).details[0]).toEqual({
        path: "deep",
        message: "must be one of 1, true, 0, false",
      });
    }
    for (const deep of ["1", "true", "0", "false"])
      expect((await t.get(`/health?deep=${deep}`)).status).toBe(200);
  });

  it("pings the store with ?deep=1", async () => {
    const t = testApp(createMemoryStore());
    const body = await json(await t.get("/health?deep=1"));
    expect(body.status).toBe("ok");
    expect(typeof body.store_latency_ms).toBe("number");
  });
});

describe("unknown routes and methods", () => {
  const t = testApp(createMemoryStore());

  it("answers 404 as JSON for an unknown route", async () => {
    for (const path of ["/", "/nope", "/api/v1/counter", "/api/v1/counter/a/b/c", "/health/x"]) {
      const res = await t.get(path);
      expect(res.status, path).toBe(404);
      expect(await json(res)).toMatchObject({ error: "Not Found", code: 404 });
    }
  });

  it("tolerates one trailing slash, where the Go service's Gin redirect would lead", async () => {
    expect((await json(await t.get("/health/"))).status).toBe("ok");
    expect((await t.get("/api/v1/counter/a/like/")).status).toBe(200);
  });

  it("answers 405 as JSON with Allow for a known path and a wrong method", async () => {
    const cases: [string, string, string][] = [
      ["GET", "/api/v1/counter/increment", "POST"],
      ["DELETE", "/api/v1/counter/increment", "POST"],
      ["PUT", "/api/v1/counter/batch", "POST"],
      ["POST", "/health", "GET, HEAD"],
      ["POST", "/api/v1/counter/a/like", "GET, HEAD"],
      ["DELETE", "/api/v1/counter/hot/like", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await t.app.request(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expect(await json(res)).toMatchObject({ error: "Method Not Allowed", code: 405 });
    }
  });
});

describe("API keys on writes", () => {
  const key = "k-0123456789abcdef";
  const t = testApp(createMemoryStore(), { apiKeys: ["other-key-0123456789", key] });
  const body = { resource_id: "a", counter_type: "view", user_id: "u" };

  it("answers 401 without a key or with a wrong one, and applies nothing", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong-key" },
      { "x-api-key": "wrong" },
      { authorization: key },
    ];
    for (const headers of attempts) {
      const res = await t.increment(body, headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(await json(res)).toMatchObject({ error: "Unauthorized", code: 401 });
    }
    expect((await json(await t.get("/api/v1/counter/a/view"))).data.count).toBe(0);
  });

  it("accepts Authorization: Bearer and x-api-key", async () => {
    expect((await t.increment(body, { authorization: `Bearer ${key}` })).status).toBe(200);
    expect((await t.increment(body, { "x-api-key": key })).status).toBe(200);
    expect((await json(await t.get("/api/v1/counter/a/view"))).data.count).toBe(2);
  });

  it("never echoes the key presented", async () => {
    const res = await t.increment(body, { "x-api-key": "secret-guess-123" });
    expect(await res.text()).not.toContain("secret-guess-123");
  });

  it("leaves reads open", async () => {
    expect((await t.get("/api/v1/counter/a/view")).status).toBe(200);
    expect(
      (await t.post("/api/v1/counter/batch", { queries: [{ resource_id: "a", counter_type: "view" }] }))
        .status,
    ).toBe(200);
  });
});
