import { beforeEach, describe, expect, it } from "vitest";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { json, testApp } from "../support/test-app.ts";

let t: ReturnType<typeof testApp>;
let clock: number;
beforeEach(() => {
  clock = Date.parse("2026-11-25T10:00:00Z");
  t = testApp(createMemoryStore(), { now: () => clock });
});

describe("GET /api/v1/counter/{resource_id}/{counter_type}", () => {
  it("answers a total counter with unique_users", async () => {
    for (const user of ["a", "b", "a"]) {
      await t.increment({ resource_id: "article_001", counter_type: "view", user_id: user, increment: 2 });
    }
    const res = await t.get("/api/v1/counter/article_001/view");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      success: true,
      data: { resource_id: "article_001", counter_type: "view", count: 6, unique_users: 2 },
    });
  });

  it("answers 0 for a counter never incremented", async () => {
    expect((await json(await t.get("/api/v1/counter/nothing/like"))).data).toEqual({
      resource_id: "nothing",
      counter_type: "like",
      count: 0,
    });
  });

  it("answers member for a unique type when user_id is given", async () => {
    await t.increment({ resource_id: "a1", counter_type: "follow", user_id: "alice" });
    expect((await json(await t.get("/api/v1/counter/a1/follow?user_id=alice"))).data).toEqual({
      resource_id: "a1",
      counter_type: "follow",
      count: 1,
      member: true,
    });
    expect((await json(await t.get("/api/v1/counter/a1/follow?user_id=bob"))).data.member).toBe(false);
  });

  it("answers 400 naming the field for a bad resource_id, counter_type or user_id", async () => {
    const cases: [string, string][] = [
      ["/api/v1/counter/a%20b/like", "resource_id"],
      ["/api/v1/counter/a%7Bb%7D/like", "resource_id"],
      [`/api/v1/counter/${"x".repeat(129)}/like`, "resource_id"],
      ["/api/v1/counter/a/share", "counter_type"],
      ["/api/v1/counter/a/like?user_id=bad%20user", "user_id"],
    ];
    for (const [path, field] of cases) {
      const res = await t.get(path);
      const body = await json(res);
      expect(res.status, path).toBe(400);
      expect(body.message).toContain(field);
      expect(body.details[0].path).toBe(field);
    }
  });
});

describe("POST /api/v1/counter/batch", () => {
  it("answers one entry per query, in order, duplicates included", async () => {
    await t.increment({ resource_id: "a", counter_type: "like", user_id: "u1" });
    await t.increment({ resource_id: "b", counter_type: "view", user_id: "u1", increment: 9 });
    const res = await t.post("/api/v1/counter/batch", {
      queries: [
        { resource_id: "b", counter_type: "view" },
        { resource_id: "a", counter_type: "like" },
        { resource_id: "zzz", counter_type: "follow" },
        { resource_id: "b", counter_type: "view" },
      ],
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      success: true,
      data: [
        { resource_id: "b", counter_type: "view", count: 9 },
        { resource_id: "a", counter_type: "like", count: 1 },
        { resource_id: "zzz", counter_type: "follow", count: 0 },
        { resource_id: "b", counter_type: "view", count: 9 },
      ],
    });
  });

  it("takes 100 queries and refuses 0 or 101", async () => {
    const queries = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ resource_id: `r${i}`, counter_type: "view" }));
    expect((await t.post("/api/v1/counter/batch", { queries: queries(100) })).status).toBe(200);
    for (const n of [0, 101]) {
      const res = await t.post("/api/v1/counter/batch", { queries: queries(n) });
      expect(res.status).toBe(400);
      expect((await json(res)).message).toContain("queries");
    }
  });

  it("answers 400 naming the entry and field", async () => {
    const cases: [unknown, string][] = [
      [
        {
          queries: [
            { resource_id: "a", counter_type: "like" },
            { resource_id: "a b", counter_type: "like" },
          ],
        },
        "queries[1].resource_id",
      ],
      [{ queries: [{ resource_id: "a", counter_type: "nope" }] }, "queries[0].counter_type"],
      [{ queries: [{ counter_type: "like" }] }, "queries[0].resource_id"],
      [{ queries: ["a"] }, "queries[0]"],
      [{ queries: "a" }, "queries"],
      [{}, "queries"],
      [[], "body"],
    ];
    for (const [body, path] of cases) {
      const res = await t.post("/api/v1/counter/batch", body);
      const payload = await json(res);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(payload.details.map((d: { path: string }) => d.path)).toContain(path);
    }
  });
});

describe("GET /api/v1/counter/hot/{counter_type}", () => {
  async function seed() {
    for (const [id, n] of [
      ["b", 2],
      ["a", 2],
      ["c", 7],
      ["d", 1],
    ] as const) {
      await t.increment({ resource_id: id, counter_type: "view", user_id: "u", increment: n });
    }
  }

  it("answers the day's ranking by default, highest first, ties by resource_id", async () => {
    await seed();
    const res = await t.get("/api/v1/counter/hot/view");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      success: true,
      data: {
        counter_type: "view",
        period: "day",
        items: [
          { resource_id: "c", count: 7 },
          { resource_id: "a", count: 2 },
          { resource_id: "b", count: 2 },
          { resource_id: "d", count: 1 },
        ],
      },
    });
  });

  it("honours limit and period, and the hour rolls over with the clock", async () => {
    await seed();
    const top2 = await json(await t.get("/api/v1/counter/hot/view?limit=2&period=hour"));
    expect(top2.data.items.map((i: { resource_id: string }) => i.resource_id)).toEqual(["c", "a"]);
    clock += 3_600_000;
    expect((await json(await t.get("/api/v1/counter/hot/view?period=hour"))).data.items).toEqual([]);
    expect((await json(await t.get("/api/v1/counter/hot/view?period=day"))).data.items).toHaveLength(4);
    expect((await json(await t.get("/api/v1/counter/hot/view?period=all&limit=1"))).data).toEqual({
      counter_type: "view",
      period: "all",
      items: [{ resource_id: "c", count: 7 }],
    });
  });

  it("wins over a resource named hot", async () => {
    const res = await json(await t.get("/api/v1/counter/hot/like"));
    expect(res.data).toEqual({ counter_type: "like", period: "day", items: [] });
  });

  it("answers 400 for a bad limit, period or type", async () => {
    const cases: [string, string][] = [
      ["?limit=0", "limit"],
      ["?limit=101", "limit"],
      ["?limit=abc", "limit"],
      ["?limit=1.5", "limit"],
      ["?limit=", "limit"],
      ["?period=month", "period"],
      ["?period=", "period"],
    ];
    for (const [query, field] of cases) {
      const res = await t.get(`/api/v1/counter/hot/view${query}`);
      expect(res.status, query).toBe(400);
      expect((await json(res)).details[0].path).toBe(field);
    }
    const res = await t.get("/api/v1/counter/hot/share");
    expect(res.status).toBe(400);
    expect((await json(res)).details[0].path).toBe("counter_type");
  });
});
