import { describe, expect, it } from "vitest";
import { mountDocs } from "../../shared/http/docs.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { DEFAULT_TYPES, json, testApp } from "../support/test-app.ts";

const KEY = "security-test-key-0123456789";

describe("security headers", () => {
  it("are on every JSON answer, success or error", async () => {
    const t = testApp(createMemoryStore());
    for (const res of [
      await t.get("/health"),
      await t.get("/api/v1/counter/a/like"),
      await t.increment({ resource_id: "a b", counter_type: "like", user_id: "u" }),
      await t.get("/nope"),
      await t.app.request("/api/v1/counter/increment", { method: "PUT" }),
    ]) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers.get("strict-transport-security")).toContain("max-age=");
    }
  });

  it("leave the docs page its scripts and its assets their caching", async () => {
    const t = testApp(createMemoryStore());
    mountDocs(t.app, DEFAULT_TYPES);
    const page = await t.get("/docs");
    expect(page.headers.get("content-security-policy")).toBeNull();
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const asset = await t.get("/docs/assets/swagger-ui.css");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=86400");
  });
});

describe("CORS", () => {
  it("is off unless origins are configured", async () => {
    const t = testApp(createMemoryStore());
    const res = await t.get("/health", { origin: "https://app.example.com" });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await t.app.request("/api/v1/counter/increment", {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers preflights and exposes the API's headers to the configured origins only", async () => {
    const t = testApp(createMemoryStore(), { corsOrigins: ["https://app.example.com"] });
    const preflight = await t.app.request("/api/v1/counter/increment", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, idempotency-key, x-api-key",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
    const res = await t.increment(
      { resource_id: "a", counter_type: "view", user_id: "u" },
      { origin: "https://app.example.com" },
    );
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(res.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("idempotent-replayed");
    const other = await t.get("/health", { origin: "https://evil.example.net" });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    // The answer depends on the Origin, so caches must key on it, whichever origin asked.
    expect(res.headers.get("vary")).toBe("Origin");
    expect(other.headers.get("vary")).toBe("Origin");
    const refused = await t.app.request("/api/v1/counter/increment", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example.net", "access-control-request-method": "POST" },
    });
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows any origin with *, on answers, errors and preflights alike", async () => {
    const t = testApp(createMemoryStore(), { corsOrigins: ["*"] });
    const origin = { origin: "https://anywhere.example.org" };
    const ok = await t.get("/api/v1/counter/a/view", origin);
    expect(ok.headers.get("access-control-allow-origin")).toBe("*");
    expect(ok.headers.get("vary")).toBeNull();
    const bad = await t.increment({ resource_id: "a", counter_type: "nope", user_id: "u" }, origin);
    expect(bad.status).toBe(400);
    expect(bad.headers.get("access-control-allow-origin")).toBe("*");
    expect(bad.headers.get("x-content-type-options")).toBe("nosniff");
    const preflight = await t.app.request("/api/v1/counter/batch", {
      method: "OPTIONS",
      headers: { ...origin, "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    expect(preflight.headers.get("access-control-max-age")).toBe("3600");
    expect(preflight.headers.get("x-request-id")).toBeTruthy();
  });
});

describe("READ_AUTH", () => {
  const t = testApp(createMemoryStore(), { apiKeys: [KEY], readAuth: true });

  it("requires a key on every read but the health check", async () => {
    for (const res of [
      await t.get("/api/v1/counter/a/like"),
      await t.get("/api/v1/counter/hot/like"),
      await t.post("/api/v1/counter/batch", { queries: [{ resource_id: "a", counter_type: "like" }] }),
    ]) {
      expect(res.status).toBe(401);
      expect(await json(res)).toMatchObject({ error: "Unauthorized", code: 401 });
    }
    expect((await t.get("/api/v1/counter/a/like", { "x-api-key": KEY })).status).toBe(200);
    expect((await t.get("/health")).status).toBe(200);
  });
});

describe("API keys and logs", () => {
  it("never write a presented key, right or wrong, to the log", async () => {
    const t = testApp(createMemoryStore(), { apiKeys: [KEY] });
    const wrong = "wrong-key-that-must-not-be-logged";
    await t.increment(
      { resource_id: "a", counter_type: "view", user_id: "u" },
      { authorization: `Bearer ${wrong}` },
    );
    await t.increment({ resource_id: "a", counter_type: "view", user_id: "u" }, { "x-api-key": KEY });
    await t.increment({ resource_id: "a b", counter_type: "view", user_id: "u" }, { "x-api-key": KEY });
    const logged = JSON.stringify(t.logger.lines);
    expect(logged).not.toContain(wrong);
    expect(logged).not.toContain(KEY);
  });
});
