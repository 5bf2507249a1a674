// Property-based tests over every request shape: whatever junk is generated (wrong types,
// prototype-pollution keys, deep nesting, huge numbers, odd Unicode, raw bytes, wrong
// content types), the answer is a 4xx JSON envelope and the store, a real Redis, is untouched.

import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CounterStore } from "../../shared/domain/model.ts";
import { createRedisClient, createRedisStore, type RedisClient } from "../../shared/stores/redis.ts";
import { randomPrefix } from "../support/backends.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { json, testApp } from "../support/test-app.ts";

let server: RedisServer;
let client: RedisClient;
let store: CounterStore;
const prefix = randomPrefix();

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient(server.url, false, 2000);
  store = createRedisStore(client, { keyPrefix: prefix, timeoutMs: 2000 });
}, 30_000);
afterAll(async () => {
  client.disconnect();
  await server.stop();
});

const RUNS = { numRuns: 150 };
const VALID = { resource_id: "article_001", counter_type: "like", user_id: "user_123", increment: 1 };
const t = () => testApp(store);

/** Checks the spec's error envelope and returns its body. */
async function rejected(res: Response, statuses = [400, 404, 405, 413, 415]) {
  const body = await json(res);
  expect(statuses, `status ${res.status}: ${JSON.stringify(body)}`).toContain(res.status);
  expect(body.code).toBe(res.status);
  expect(typeof body.error).toBe("string");
  expect(typeof body.message).toBe("string");
  if (body.details !== undefined) {
    expect(Array.isArray(body.details)).toBe(true);
    for (const d of body.details)
      expect(typeof d.path === "string" && typeof d.message === "string").toBe(true);
  }
  return body;
}

// Values no field accepts: wrong types, and strings outside the identifier alphabet.
const junkValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.bigInt().map((n) => Number(n) * 1e300),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.anything(), { maxKeys: 3 }),
  fc.string({ unit: "grapheme", minLength: 1 }).filter((s) => !/^[A-Za-z0-9_.:@-]{1,128}$/.test(s)),
  fc.string({ minLength: 129, maxLength: 300 }),
);

describe("POST /api/v1/counter/increment with junk", () => {
  it("refuses any body that is not a JSON object", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue().filter((v) => typeof v !== "object" || v === null || Array.isArray(v)),
        async (value) => {
          await rejected(await t().post("/api/v1/counter/increment", JSON.stringify(value)));
        },
      ),
      RUNS,
    );
  });

  it("refuses a body with any one field made junk, and names that field", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("resource_id", "counter_type", "user_id", "increment"),
        junkValue,
        async (field, value) => {
          fc.pre(!(field === "increment" && (value === 1 || value === -1)));
          const body = await rejected(
            await t().post("/api/v1/counter/increment", { ...VALID, [field]: value }),
          );
          expect(body.details.map((d: { path: string }) => d.path)).toContain(field);
        },
      ),
      RUNS,
    );
  });

  it("refuses objects of any shape, with prototype-pollution keys and nesting, and pollutes nothing", async () => {
    const hostile = fc.dictionary(
      fc.oneof(
        fc.constantFrom("__proto__", "constructor", "prototype", "resource_id", "increment"),
        fc.string(),
      ),
      fc.jsonValue({ maxDepth: 6 }),
      { maxKeys: 6 },
    );
    await fc.assert(
      fc.asyncProperty(hostile, async (object) => {
        const text = JSON.stringify(object).replace('"constructor"', '"__proto__"');
        await rejected(await t().post("/api/v1/counter/increment", text));
      }),
      RUNS,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it("refuses raw bytes and deeply nested JSON as bad JSON, or as too large", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
        const res = await t().app.request("/api/v1/counter/increment", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: bytes,
        });
        await rejected(res);
      }),
      RUNS,
    );
    for (const depth of [1_000, 20_000, 40_000]) {
      await rejected(await t().post("/api/v1/counter/increment", `${"[".repeat(depth)}${"]".repeat(depth)}`));
    }
  });

  it("refuses a valid body sent with any other content type", async () => {
    const types = fc.oneof(
      fc.constantFrom(
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/xml",
        "jsonx",
      ),
      fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/json/i.test(s) && /^[\x21-\x7e]+$/.test(s)),
    );
    await fc.assert(
      fc.asyncProperty(types, async (type) => {
        await rejected(await t().post("/api/v1/counter/increment", VALID, { "content-type": type }), [415]);
      }),
      RUNS,
    );
  });
});

describe("reads with junk", () => {
  const segment = fc.string({ unit: "grapheme", minLength: 1, maxLength: 140 });

  it("GET /api/v1/counter/{resource_id}/{counter_type} refuses junk identifiers and types", async () => {
    await fc.assert(
      fc.asyncProperty(segment, segment, async (resource, type) => {
        fc.pre(!(/^[A-Za-z0-9_.:@-]{1,128}$/.test(resource) && ["like", "follow", "view"].includes(type)));
        fc.pre(resource !== "hot" && resource !== "." && resource !== "..");
        const res = await t().get(
          `/api/v1/counter/${encodeURIComponent(resource)}/${encodeURIComponent(type)}`,
        );
        await rejected(res);
      }),
      RUNS,
    );
  });

  it("GET /api/v1/counter/hot/{counter_type} refuses junk limits and periods", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), async (limit, period) => {
        const validLimit = /^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 100;
        fc.pre(!(validLimit && ["hour", "day", "week", "all"].includes(period)));
        const query = new URLSearchParams({ limit, period }).toString();
        await rejected(await t().get(`/api/v1/counter/hot/like?${query}`), [400]);
      }),
      RUNS,
    );
  });

  it("POST /api/v1/counter/batch refuses junk queries", async () => {
    const junkQueries = fc.oneof(
      junkValue,
      fc.array(fc.record({ resource_id: junkValue, counter_type: fc.constant("like") }), {
        minLength: 1,
        maxLength: 5,
      }),
      fc.array(fc.constant({ resource_id: "a", counter_type: "like" }), { minLength: 101, maxLength: 130 }),
    );
    await fc.assert(
      fc.asyncProperty(junkQueries, async (queries) => {
        await rejected(await t().post("/api/v1/counter/batch", { queries }), [400]);
      }),
      RUNS,
    );
  });

  it("an Idempotency-Key outside 1-128 printable ASCII is refused", async () => {
    const badKey = fc.oneof(
      fc.string({ minLength: 129, maxLength: 200, unit: fc.constantFrom("a", "b") }),
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }).filter((s) => /[^\x20-\x7e]/.test(s)),
    );
    await fc.assert(
      fc.asyncProperty(badKey, async (key) => {
        let headers: Record<string, string>;
        try {
          headers = { "idempotency-key": new Headers({ k: key }).get("k") ?? key };
        } catch {
          return; // not sendable as a header at all
        }
        await rejected(await t().increment(VALID, headers), [400]);
      }),
      RUNS,
    );
  });
});

describe("after all that junk", () => {
  it("the store holds no key at all", async () => {
    const direct = new Redis(server.url);
    try {
      expect(await direct.keys(`${prefix}*`)).toEqual([]);
    } finally {
      direct.disconnect();
    }
  });
});
