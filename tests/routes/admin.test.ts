// The operator's routes (set, reset, erase a user) and the badge, through app.request().

import { describe, expect, it } from "vitest";
import { abbreviate } from "../../shared/http/handlers/badge.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { json, testApp } from "../support/test-app.ts";

const ADMIN_KEY = "admin-key-0123456789abcdef";
const WRITE_KEY = "write-key-0123456789abcdef";
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

function adminApp(overrides: Parameters<typeof testApp>[1] = {}) {
  const t = testApp(createMemoryStore(), { apiKeys: [WRITE_KEY], adminKeys: [ADMIN_KEY], ...overrides });
  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
    t.app.request(path, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
  const like = (resource: string, user: string, increment = 1) =>
    t.increment({ resource_id: resource, counter_type: "like", user_id: user, increment }, bearer(WRITE_KEY));
  return { ...t, call, like };
}

describe("admin routes without ADMIN_KEYS", () => {
  it("do not exist: 404 for every admin route and method, whatever the key", async () => {
    const t = adminApp({ adminKeys: [] });
    for (const [method, path] of [
      ["PUT", "/api/v1/admin/counter/a/view"],
      ["DELETE", "/api/v1/admin/counter/a/view"],
      ["DELETE", "/api/v1/admin/users/u1"],
      ["GET", "/api/v1/admin/users/u1"],
    ] as const) {
      const res = await t.call(method, path, bearer(ADMIN_KEY), method === "PUT" ? { count: 1 } : undefined);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect((await json(res)).code).toBe(404);
    }
  });
});

describe("admin routes with ADMIN_KEYS", () => {
  it("answer 401 without a key or with a wrong one, 403 for a write key, 405 for a wrong method", async () => {
    const t = adminApp();
    const path = "/api/v1/admin/counter/a/view";
    expect((await t.call("PUT", path, {}, { count: 5 })).status).toBe(401);
    const wrong = await t.call("PUT", path, bearer("not-the-admin-key-0000"), { count: 5 });
    expect(wrong.status).toBe(401);
    expect((await json(wrong)).message).toBe("Authorization: the admin key is not valid");
    const writer = await t.call("PUT", path, { "x-api-key": WRITE_KEY }, { count: 5 });
    expect(writer.status).toBe(403);
    expect(await json(writer)).toMatchObject({ error: "Forbidden", code: 403 });
    expect((await t.call("GET", path, bearer(ADMIN_KEY))).status).toBe(405);
    // Nothing was set by the refused calls.
    expect((await json(await t.get("/api/v1/counter/a/view"))).data.count).toBe(0);
  });

  it("count failed admin authentications per address, like failed write keys", async () => {
    const t = adminApp({ authFailureLimit: { limit: 3, windowMs: 60_000 } });
    const statuses = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await t.call("DELETE", "/api/v1/admin/users/u1", bearer("x".repeat(20)))).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it("set a total counter and answer it as GET shows it, logging the key's digest only", async () => {
    const t = adminApp();
    const res = await t.call("PUT", "/api/v1/admin/counter/article_9/view", bearer(ADMIN_KEY), {
      count: 125000,
    });
    expect(res.status).toBe(200);
    const answer = await json(res);
    expect(answer).toEqual({
      success: true,
      data: { resource_id: "article_9", counter_type: "view", count: 125000, unique_users: 0 },
    });
    expect(await json(await t.get("/api/v1/counter/article_9/view"))).toEqual(answer);
    const hot = await json(await t.get("/api/v1/counter/hot/view?period=all"));
    expect(hot.data.items).toEqual([{ resource_id: "article_9", count: 125000 }]);
    const logged = t.logger.lines.find((l) => l.msg === "admin");
    expect(logged).toMatchObject({ action: "set", resource_id: "article_9", count: 125000 });
    expect(logged?.key_digest).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(t.logger.lines)).not.toContain(ADMIN_KEY);
  });

  it("refuse a bad count (400 naming it), an unknown type (400) and a unique type (409)", async () => {
    const t = adminApp();
    const path = "/api/v1/admin/counter/a/view";
    for (const count of [-1, 1.5, "5", 9007199254740992, null]) {
      const res = await t.call("PUT", path, bearer(ADMIN_KEY), { count });
      expect(res.status, String(count)).toBe(400);
      expect((await json(res)).details[0].path).toBe("count");
    }
    expect((await t.call("PUT", path, bearer(ADMIN_KEY), "not json")).status).toBe(400);
    const unknown = await t.call("PUT", "/api/v1/admin/counter/a/nope", bearer(ADMIN_KEY), { count: 1 });
    expect((await json(unknown)).details[0].path).toBe("counter_type");
    const unique = await t.call("PUT", "/api/v1/admin/counter/a/like", bearer(ADMIN_KEY), { count: 1 });
    expect(unique.status).toBe(409);
    expect((await json(unique)).message).toContain("like is a unique type");
  });

  it("reset a counter of either kind to 0, rankings included", async () => {
    const t = adminApp();
    await t.like("r1", "u1");
    await t.like("r1", "u2");
    const res = await t.call("DELETE", "/api/v1/admin/counter/r1/like", bearer(ADMIN_KEY));
    expect(await json(res)).toEqual({
      success: true,
      data: { resource_id: "r1", counter_type: "like", count: 0 },
    });
    expect((await json(await t.get("/api/v1/counter/r1/like?user_id=u1"))).data.member).toBe(false);
    expect((await json(await t.get("/api/v1/counter/hot/like?period=all"))).data.items).toEqual([]);
  });

  it("erase a user everywhere, answering how many counters they left, and log no user_id", async () => {
    const t = adminApp();
    for (const r of ["p1", "p2", "p3"]) await t.like(r, "leaving");
    await t.like("p1", "staying");
    const res = await t.call("DELETE", "/api/v1/admin/users/leaving", bearer(ADMIN_KEY));
    expect(await json(res)).toEqual({ success: true, data: { user_id: "leaving", removed: 3 } });
    const read = await json(await t.get("/api/v1/counter/p1/like?user_id=leaving"));
    expect(read.data).toMatchObject({ count: 1, member: false });
    const again = await t.call("DELETE", "/api/v1/admin/users/leaving", bearer(ADMIN_KEY));
    expect((await json(again)).data.removed).toBe(0);
    const logged = t.logger.lines.filter((l) => l.msg === "admin");
    expect(logged.map((l) => l.removed)).toEqual([3, 0]);
    expect(JSON.stringify(logged)).not.toContain("leaving");
    const bad = await t.call("DELETE", "/api/v1/admin/users/a%20b", bearer(ADMIN_KEY));
    expect((await json(bad)).details[0].path).toBe("user_id");
  });
});

describe("badges", () => {
  it("show the count, abbreviated, as a cached SVG image that allows no script", async () => {
    const t = adminApp();
    await t.call("PUT", "/api/v1/admin/counter/b1/view", bearer(ADMIN_KEY), { count: 1234 });
    const res = await t.get("/api/v1/counter/b1/view/badge.svg");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(res.headers.get("content-security-policy")).toMatch(/^default-src 'none'/);
    expect(res.headers.get("content-security-policy")).not.toContain("script");
    const svg = await res.text();
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain(">view<");
    expect(svg).toContain(">1.2k<");
    expect(svg).toContain('fill="#007ec6"');
  });

  it("escape the label: markup shows as text", async () => {
    const t = adminApp();
    const label = `<script>alert("x")</script>&'`;
    const res = await t.get(`/api/v1/counter/b2/like/badge.svg?label=${encodeURIComponent(label)}`);
    const svg = await res.text();
    expect(svg).not.toContain("<script");
    expect(svg).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
  });

  it("take a colour from the palette or as hex, and refuse anything else as a 400 naming it", async () => {
    const t = adminApp();
    expect(await (await t.get("/api/v1/counter/b3/like/badge.svg?color=red")).text()).toContain(
      'fill="#e05d44"',
    );
    expect(await (await t.get("/api/v1/counter/b3/like/badge.svg?color=0aF")).text()).toContain(
      'fill="#0aF"',
    );
    expect(await (await t.get("/api/v1/counter/b3/like/badge.svg?color=123456")).text()).toContain(
      'fill="#123456"',
    );
    for (const query of [
      "color=chartreuse",
      "color=%23fff",
      "color=12345",
      // Names an object would find on its prototype.
      "color=constructor",
      "color=__proto__",
      "color=toString",
      `label=${"x".repeat(33)}`,
      "label=",
      // What XML 1.0 cannot carry, C1 controls, bidirectional overrides.
      "label=%EF%BF%BE",
      "label=a%C2%85b",
      "label=%C2%9B",
      "label=%E2%80%AEevil",
      "label=%E2%81%A6x",
      "label=%00",
    ]) {
      const res = await t.get(`/api/v1/counter/b3/like/badge.svg?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect((await json(res)).details[0].path).toBe(query.split("=")[0]);
    }
    const unknown = await t.get("/api/v1/counter/b3/nope/badge.svg");
    expect(unknown.status).toBe(400);
    expect((await json(unknown)).details[0].path).toBe("counter_type");
  });

  it("are reads: READ_AUTH applies, and then no shared cache may keep them", async () => {
    const t = adminApp({ readAuth: true });
    expect((await t.get("/api/v1/counter/b4/like/badge.svg")).status).toBe(401);
    const keyed = await t.get("/api/v1/counter/b4/like/badge.svg", bearer(WRITE_KEY));
    expect(keyed.status).toBe(200);
    expect(keyed.headers.get("cache-control")).toBe("private, max-age=60");
  });

  it("carry only characters XML 1.0 allows, whatever label is asked for", async () => {
    const t = adminApp();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0's Char production names tab, LF and CR.
    const XML_CHAR = /^[\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;
    const labels = ["héllo wörld", "日本語", "emoji 🎉", "tab\there", "\u2028line", "zero\u200bwidth"];
    for (const label of labels) {
      const res = await t.get(`/api/v1/counter/b5/like/badge.svg?label=${encodeURIComponent(label)}`);
      const body = await res.text();
      if (res.status === 200) expect(XML_CHAR.test(body), label).toBe(true);
      else expect(res.status, label).toBe(400);
    }
  });

  it("abbreviate counts without ever overstating them", () => {
    const cases: [number, string][] = [
      [0, "0"],
      [999, "999"],
      [1000, "1k"],
      [1234, "1.2k"],
      [1299, "1.2k"],
      [12345, "12k"],
      [999_999, "999k"],
      [1_000_000, "1M"],
      [1_234_567, "1.2M"],
      [3_400_000_000, "3.4B"],
      [9_007_199_254_740_991, "9007T"],
    ];
    expect(cases.map(([n]) => abbreviate(n))).toEqual(cases.map(([, s]) => s));
  });
});
