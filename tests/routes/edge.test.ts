// The edge's guards and odd inputs, through app.request(): rate-limit subjects by address,
// failed authentications, key rotation, READ_AUTH over the docs and metrics, docs assets,
// Content-Encoding, the document's dialect, and the ranking's default limit.

import { describe, expect, it } from "vitest";
import { mountDocs } from "../../shared/http/docs.ts";
import { addressSubject } from "../../shared/http/guards.ts";
import { addRoute, type Platform, respond } from "../../shared/http/http-app.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { DEFAULT_TYPES, json, testApp } from "../support/test-app.ts";

const KEYS = ["first-key-0123456789", "second-key-0123456789", "third-key-0123456789"];
const view = (resource: string, user = "u1") => ({
  resource_id: resource,
  counter_type: "view",
  user_id: user,
});

/** A platform whose client address the test sets per request, through a header only the test sends. */
const addressFromTest: Platform = { clientAddress: (c) => c.req.header("x-test-address") };

describe("rate-limit subjects", () => {
  it.each([
    ["2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002:0:0:0:9", "2001:db8:1:2::/64"],
    ["::ffff:203.0.113.77", "203.0.113.77"],
    ["203.0.113.77", "203.0.113.77"],
    [undefined, "unknown"],
  ])("%s counts as %s", (address, subject) => {
    expect(addressSubject(address)).toBe(subject);
  });

  it("limit two addresses of one IPv6 /64 together, and an IPv4-mapped address as its IPv4", async () => {
    const t = testApp(createMemoryStore(), {
      rateLimits: { ip: { limit: 2, windowMs: 60_000 } },
      platform: addressFromTest,
    });
    const from = (address: string) => t.get("/api/v1/counter/a/view", { "x-test-address": address });
    expect((await from("2001:db8::1")).status).toBe(200);
    expect((await from("2001:db8::2")).status).toBe(200);
    expect((await from("2001:db8::3")).status).toBe(429);
    expect((await from("::ffff:198.51.100.7")).status).toBe(200);
    expect((await from("198.51.100.7")).status).toBe(200);
    expect((await from("198.51.100.7")).status).toBe(429);
  });

  it("limit requests with no known address under one shared subject, not at all", async () => {
    const t = testApp(createMemoryStore(), { rateLimits: { ip: { limit: 2, windowMs: 60_000 } } });
    expect((await t.get("/api/v1/counter/a/view")).status).toBe(200);
    expect((await t.get("/api/v1/counter/a/view")).status).toBe(200);
    expect((await t.get("/api/v1/counter/a/view")).status).toBe(429);
  });
});

describe("authentication", () => {
  it("accepts every configured key on writes (key rotation), not only one", async () => {
    const t = testApp(createMemoryStore(), { apiKeys: KEYS });
    for (const [i, key] of KEYS.entries()) {
      const res = await t.increment(view("rotated"), { authorization: `Bearer ${key}` });
      expect(res.status, key).toBe(200);
      expect((await json(res)).data.count).toBe(i + 1);
    }
    expect((await t.increment(view("rotated"), { "x-api-key": KEYS[1] as string })).status).toBe(200);
  });

  it("answers 429 to an address past AUTH_FAILURE_LIMIT failures, even with no RATE_LIMIT_*", async () => {
    const t = testApp(createMemoryStore(), {
      apiKeys: KEYS,
      authFailureLimit: { limit: 3, windowMs: 60_000 },
      platform: addressFromTest,
    });
    const attempt = (address: string, headers: Record<string, string> = {}) =>
      t.increment(view("guarded"), { "x-test-address": address, ...headers });
    expect((await attempt("192.0.2.1")).status).toBe(401);
    expect((await attempt("192.0.2.1", { authorization: "Bearer wrong-key-0123456789" })).status).toBe(401);
    expect((await attempt("192.0.2.1")).status).toBe(401);
    const refused = await attempt("192.0.2.1", { "x-api-key": "another-wrong-key-0123" });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await json(refused)).message).toMatch(/failed authentications/);
    // While it holds, the right key from that address is refused too: a guesser learns no hit.
    const right = await attempt("192.0.2.1", { authorization: `Bearer ${KEYS[0]}` });
    expect(right.status).toBe(429);
    expect((await json(right)).message).toMatch(/failed authentications/);
    // Another address is not affected: a wrong key is a 401, the right one works.
    expect((await attempt("192.0.2.2")).status).toBe(401);
    expect((await attempt("192.0.2.2", { authorization: `Bearer ${KEYS[0]}` })).status).toBe(200);
  });
});

describe("a locked-out address", () => {
  it("gets 429 on the admin routes too, with the right admin key", async () => {
    const admin = "the-admin-key-0123456789";
    const t = testApp(createMemoryStore(), {
      apiKeys: KEYS,
      adminKeys: [admin],
      authFailureLimit: { limit: 1, windowMs: 60_000 },
      platform: addressFromTest,
    });
    const erase = (address: string, key: string) =>
      t.app.request("/api/v1/admin/users/u1", {
        method: "DELETE",
        headers: { "x-test-address": address, authorization: `Bearer ${key}` },
      });
    expect((await erase("192.0.2.9", "not-the-admin-key-012345")).status).toBe(401);
    expect((await erase("192.0.2.9", admin)).status).toBe(429);
    expect((await erase("192.0.2.10", admin)).status).toBe(200);
  });
});

describe("READ_AUTH", () => {
  function docsApp() {
    const t = testApp(createMemoryStore(), { apiKeys: KEYS, readAuth: true });
    mountDocs(t.app, DEFAULT_TYPES);
    addRoute(
      t.app,
      "/metrics",
      "/metrics",
      (c) => respond(c, "# metrics\n", 200, { "content-type": "text/plain" }),
      {
        auth: "read",
      },
    );
    return t;
  }

  it.each(["/metrics", "/openapi.json", "/docs", "/docs/assets/swagger-ui.css"])(
    "covers %s: 401 without a key, 200 with one",
    async (path) => {
      const t = docsApp();
      const refused = await t.get(path);
      expect(refused.status).toBe(401);
      expect((await json(refused)).code).toBe(401);
      expect((await t.get(path, { authorization: `Bearer ${KEYS[0]}` })).status).toBe(200);
    },
  );

  it("leaves /health open", async () => {
    expect((await docsApp().get("/health")).status).toBe(200);
  });
});

describe("documentation assets", () => {
  it.each(["__proto__", "constructor", "toString", "hasOwnProperty", "nope.js"])(
    "/docs/assets/%s is a 404 without an error log",
    async (name) => {
      const t = testApp(createMemoryStore());
      mountDocs(t.app, DEFAULT_TYPES);
      const res = await t.get(`/docs/assets/${name}`);
      expect(res.status).toBe(404);
      expect((await json(res)).code).toBe(404);
      expect(t.logger.lines.filter((l) => l.level === "error")).toEqual([]);
    },
  );

  it("the document names no JSON Schema dialect other than OpenAPI 3.1's default", async () => {
    const t = testApp(createMemoryStore());
    mountDocs(t.app, DEFAULT_TYPES);
    const doc = await json(await t.get("/openapi.json"));
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.jsonSchemaDialect ?? "https://spec.openapis.org/oas/3.1/dialect/base").toBe(
      "https://spec.openapis.org/oas/3.1/dialect/base",
    );
  });
});

describe("request bodies", () => {
  it.each(["gzip", "br", "deflate, identity"])(
    "Content-Encoding %s is a 415 naming the header, nothing applied",
    async (encoding) => {
      const t = testApp(createMemoryStore());
      const res = await t.increment(view("encoded"), { "content-encoding": encoding });
      expect(res.status).toBe(415);
      expect((await json(res)).message).toMatch(/^Content-Encoding: /);
      expect((await json(await t.get("/api/v1/counter/encoded/view"))).data.count).toBe(0);
    },
  );

  it("Content-Encoding identity is accepted", async () => {
    const t = testApp(createMemoryStore());
    expect((await t.increment(view("plain"), { "content-encoding": "identity" })).status).toBe(200);
  });
});

describe("the hot ranking", () => {
  it("answers 10 items when no limit is given", async () => {
    const t = testApp(createMemoryStore());
    for (let i = 0; i < 12; i++)
      expect((await t.increment(view(`r${String(i).padStart(2, "0")}`))).status).toBe(200);
    const body = await json(await t.get("/api/v1/counter/hot/view?period=all"));
    expect(body.data.items).toHaveLength(10);
    const byDefaultPeriod = await json(await t.get("/api/v1/counter/hot/view"));
    expect(byDefaultPeriod.data.items).toHaveLength(10);
  });
});
