import { beforeEach, describe, expect, it } from "vitest";
import type { CounterStore } from "../../shared/domain/model.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { json, testApp } from "../support/test-app.ts";

let store: CounterStore;
let t: ReturnType<typeof testApp>;
beforeEach(() => {
  store = createMemoryStore();
  t = testApp(store);
});

const countOf = async (resourceId: string, type: string) => {
  const res = await t.get(`/api/v1/counter/${resourceId}/${type}`);
  return (await json(res)).data.count as number;
};

/** Posts a bad body and checks the 400 names the field and nothing changed. */
async function rejects(body: unknown, field: string) {
  const res = await t.post("/api/v1/counter/increment", body);
  const payload = await json(res);
  expect(res.status, JSON.stringify(payload)).toBe(400);
  expect(payload).toMatchObject({ error: "Invalid request format", code: 400 });
  expect(payload.message).toContain(field);
  expect(payload.details.map((d: { path: string }) => d.path)).toContain(field);
  const touched = await store.read([
    { resourceId: "article_001", type: "like", kind: "unique" },
    { resourceId: "article_001", type: "view", kind: "total" },
  ]);
  expect(touched.map((r) => r.count)).toEqual([0, 0]);
  return payload;
}

const valid = { resource_id: "article_001", counter_type: "like", user_id: "user_123" };

describe("POST /api/v1/counter/increment", () => {
  it("answers the spec's response for a like", async () => {
    const res = await t.increment({ ...valid, increment: 1 });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(await json(res)).toEqual({
      success: true,
      data: { resource_id: "article_001", counter_type: "like", count: 1, success: true, applied: true },
    });
  });

  it("defaults increment to 1", async () => {
    await t.increment({ resource_id: "a", counter_type: "view", user_id: "u" });
    expect(await countOf("a", "view")).toBe(1);
  });

  it("answers applied false for a second like and for an unlike by a non-member", async () => {
    await t.increment(valid);
    expect((await json(await t.increment(valid))).data).toMatchObject({ count: 1, applied: false });
    const unlike = await json(await t.increment({ ...valid, user_id: "stranger", increment: -1 }));
    expect(unlike.data).toMatchObject({ count: 1, applied: false });
  });

  it("accepts every identifier character and 128 characters", async () => {
    const id = `Az09_-.:@${"x".repeat(119)}`;
    expect(id).toHaveLength(128);
    const res = await t.increment({ resource_id: id, counter_type: "view", user_id: id });
    expect(res.status).toBe(200);
    expect(await countOf(encodeURIComponent(id), "view")).toBe(1);
  });

  it("accepts a JSON content type with a charset and one with no content type", async () => {
    const withCharset = await t.post("/api/v1/counter/increment", valid, {
      "content-type": "application/json; charset=utf-8",
    });
    expect(withCharset.status).toBe(200);
    const bare = await t.app.request("/api/v1/counter/increment", {
      method: "POST",
      body: new TextEncoder().encode(JSON.stringify({ ...valid, user_id: "other" })),
    });
    expect(bare.status).toBe(200);
    expect(await countOf("article_001", "like")).toBe(2);
  });

  describe("rejects with 400 naming the field, and changes nothing", () => {
    const badIds: [string, unknown][] = [
      ["empty", ""],
      ["a space", "a b"],
      ["braces", "a{b}"],
      ["a slash", "a/b"],
      ["a control character", "a\u0000b"],
      ["a newline", "a\nb"],
      ["non-ASCII", "café"],
      ["129 characters", "x".repeat(129)],
      ["a number", 12],
      ["null", null],
      ["an object", { id: "a" }],
      ["an array", ["a"]],
    ];
    for (const [what, value] of badIds) {
      it(`resource_id with ${what}`, () => rejects({ ...valid, resource_id: value }, "resource_id"));
      it(`user_id with ${what}`, () => rejects({ ...valid, user_id: value }, "user_id"));
    }

    it("a missing resource_id", () => rejects({ counter_type: "like", user_id: "u" }, "resource_id"));
    it("a missing user_id", async () => {
      const payload = await rejects({ resource_id: "article_001", counter_type: "like" }, "user_id");
      expect(payload.details).toContainEqual({ path: "user_id", message: "is required" });
    });
    it("a missing counter_type", () => rejects({ resource_id: "article_001", user_id: "u" }, "counter_type"));
    it("an unknown counter_type", async () => {
      const payload = await rejects({ ...valid, counter_type: "share" }, "counter_type");
      expect(payload.message).toContain("like, follow, view");
    });
    it("a counter_type that is not a string", () => rejects({ ...valid, counter_type: 1 }, "counter_type"));

    // Raw JSON text, as a client sends it: some of these have no exact JS number.
    const increment = (type: string, raw: string) =>
      `{"resource_id":"article_001","counter_type":"${type}","user_id":"u","increment":${raw}}`;
    for (const raw of ["0", "2", "-2", "1.5", '"1"', "null", "true", "1e400"]) {
      it(`increment ${raw} on a unique type`, () => rejects(increment("like", raw), "increment"));
    }
    for (const raw of ["0", "-1", "1000001", "2.5", '"5"', "null", "[]", "1e400", "9007199254740993"]) {
      it(`increment ${raw} on a total type`, () => rejects(increment("view", raw), "increment"));
    }

    it("a body that is not JSON", () => rejects("{resource_id: article_001", "body"));
    it("an empty body", () => rejects("", "body"));
    it("a JSON array", () => rejects([valid], "body"));
    it("JSON null", () => rejects("null", "body"));
    it("a JSON string", () => rejects('"hello"', "body"));

    it("a bad increment alongside another bad field", async () => {
      const payload = await rejects({ ...valid, resource_id: "a b", increment: 5 }, "increment");
      expect(payload.details.map((d: { path: string }) => d.path).sort()).toEqual([
        "increment",
        "resource_id",
      ]);
    });

    it("every problem at once, listed in details", async () => {
      const payload = await rejects(
        { resource_id: "a b", counter_type: "nope", increment: "x" },
        "resource_id",
      );
      const paths = payload.details.map((d: { path: string }) => d.path).sort();
      expect(paths).toEqual(["counter_type", "increment", "resource_id", "user_id"]);
    });
  });

  it("ignores unknown fields, including __proto__, without polluting anything", async () => {
    const res = await t.post(
      "/api/v1/counter/increment",
      '{"resource_id":"p","counter_type":"view","user_id":"u","__proto__":{"polluted":true},"extra":1}',
    );
    expect(res.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("answers 413 above 64 KiB before parsing, and applies nothing", async () => {
    const big = JSON.stringify({ ...valid, padding: "x".repeat(64 * 1024) });
    const res = await t.post("/api/v1/counter/increment", big, { "content-length": String(big.length) });
    expect(res.status).toBe(413);
    expect(await json(res)).toMatchObject({ error: "Payload Too Large", code: 413 });
    // Without a Content-Length header (chunked), the limit holds while reading.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 70; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1024)));
        controller.close();
      },
    });
    const chunked = await t.app.request("/api/v1/counter/increment", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await countOf("article_001", "like")).toBe(0);
  });

  it("answers 415 for a body of another content type, and applies nothing", async () => {
    for (const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ]) {
      const res = await t.post("/api/v1/counter/increment", valid, { "content-type": type });
      expect(res.status).toBe(415);
      expect(await json(res)).toMatchObject({ error: "Unsupported Media Type", code: 415 });
    }
    expect(await countOf("article_001", "like")).toBe(0);
  });
});

describe("Idempotency-Key over HTTP", () => {
  it("replays the first response with Idempotent-Replayed: true", async () => {
    const first = await t.increment(
      { resource_id: "r", counter_type: "view", user_id: "u", increment: 5 },
      { "idempotency-key": "order-42" },
    );
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const firstBody = await json(first);
    await t.increment({ resource_id: "r", counter_type: "view", user_id: "v" });
    const retry = await t.increment(
      { resource_id: "r", counter_type: "view", user_id: "u", increment: 5 },
      { "idempotency-key": "order-42" },
    );
    expect(retry.status).toBe(first.status);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await json(retry)).toEqual(firstBody);
    expect(await countOf("r", "view")).toBe(6);
  });

  it("answers 422 for the same key with a different request, and applies nothing", async () => {
    await t.increment(
      { resource_id: "r", counter_type: "view", user_id: "u", increment: 5 },
      { "idempotency-key": "k" },
    );
    const res = await t.increment(
      { resource_id: "r", counter_type: "view", user_id: "u", increment: 6 },
      { "idempotency-key": "k" },
    );
    expect(res.status).toBe(422);
    const body = await json(res);
    expect(body).toMatchObject({ error: "Unprocessable Entity", code: 422 });
    expect(body.message).toContain("Idempotency-Key");
    expect(await countOf("r", "view")).toBe(5);
  });

  it("answers 400 for a key that is too long or not printable ASCII", async () => {
    for (const key of ["x".repeat(129), "caf\u00e9", "tab\there"]) {
      const res = await t.increment(valid, { "idempotency-key": key });
      expect(res.status).toBe(400);
      expect((await json(res)).message).toContain("Idempotency-Key");
    }
    expect(await countOf("article_001", "like")).toBe(0);
  });
});
