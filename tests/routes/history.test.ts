// The history routes through app.request(): a counter's days as JSON and as a sparkline,
// their parameters, and READ_AUTH. The clock is the app's, set by the test.

import { describe, expect, it } from "vitest";
import { decodeEvents } from "../../shared/domain/events.ts";
import { sendingTo } from "../../shared/http/http-app.ts";
import { applyQueuedEvents } from "../../shared/runtime/events-consumer.ts";
import { createMemoryEventQueue, createMemoryStore } from "../../shared/stores/memory.ts";
import { json, testApp } from "../support/test-app.ts";
import { xmlProblem } from "../support/xml.ts";

const KEY = "write-key-0123456789abcdef";
const DAY = 24 * 3_600_000;
const D0 = Date.parse("2026-12-04T12:00:00Z");

function clockedApp(overrides: Parameters<typeof testApp>[1] = {}) {
  const clock = { now: D0 };
  const t = testApp(createMemoryStore(), { now: () => clock.now, ...overrides });
  const view = (resource: string, increment: number) =>
    t.increment({ resource_id: resource, counter_type: "view", user_id: "u1", increment });
  const like = (resource: string, user: string, increment = 1) =>
    t.increment({ resource_id: resource, counter_type: "like", user_id: user, increment });
  return { ...t, clock, view, like };
}

describe("GET …/history", () => {
  it("answers each UTC day's net change, oldest first, ending today, and the count", async () => {
    const t = clockedApp();
    await t.view("a", 4);
    await t.like("a", "x");
    t.clock.now += DAY;
    await t.view("a", 7);
    await t.like("a", "y");
    await t.like("a", "y", -1);
    t.clock.now += 2 * DAY;
    const res = await t.get("/api/v1/counter/a/view/history?days=4");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await json(res)).toEqual({
      success: true,
      data: {
        resource_id: "a",
        counter_type: "view",
        count: 11,
        days: [
          { date: "2026-12-04", delta: 4 },
          { date: "2026-12-05", delta: 7 },
          { date: "2026-12-06", delta: 0 },
          { date: "2026-12-07", delta: 0 },
        ],
      },
    });
    const likes = await json(await t.get("/api/v1/counter/a/like/history?days=2"));
    expect(likes.data.days).toEqual([
      { date: "2026-12-06", delta: 0 },
      { date: "2026-12-07", delta: 0 },
    ]);
    const both = await json(await t.get("/api/v1/counter/a/like/history?days=4"));
    expect(both.data.days.map((d: { delta: number }) => d.delta)).toEqual([1, 0, 0, 0]);
  });

  it("takes 30 days by default and 1 to 365, and refuses anything else as a 400 naming the field", async () => {
    const t = clockedApp();
    const answer = await json(await t.get("/api/v1/counter/b/view/history"));
    expect(answer.data.days).toHaveLength(30);
    expect(answer.data.days[29].date).toBe("2026-12-04");
    expect((await json(await t.get("/api/v1/counter/b/view/history?days=365"))).data.days).toHaveLength(365);
    for (const days of ["0", "366", "-1", "1.5", "abc", ""]) {
      for (const route of ["history", "history.svg"]) {
        const res = await t.get(`/api/v1/counter/b/view/${route}?days=${days}`);
        expect(res.status, `${route} ${days}`).toBe(400);
        expect(res.headers.get("content-type")).toBe("application/json");
        expect((await json(res)).details[0].path).toBe("days");
      }
    }
    const unknown = await t.get("/api/v1/counter/b/nope/history");
    expect(unknown.status).toBe(400);
    expect((await json(unknown)).details[0].path).toBe("counter_type");
  });
});

describe("queued events in the history", () => {
  it("count on the day their POST was accepted, however late the consumer applies them", async () => {
    const clock = { now: D0 };
    const queue = createMemoryEventQueue();
    const store = createMemoryStore();
    const t = testApp(store, { now: () => clock.now, eventQueue: sendingTo(queue, () => clock.now) });
    const events = [{ resource_id: "q", counter_type: "view", user_id: "u1", increment: 6, event_id: "e1" }];
    expect((await t.post("/api/v1/counter/events", { events })).status).toBe(202);
    clock.now += 2 * DAY;
    const messages = await queue.peek(10);
    const decoded = messages.flatMap((m) => decodeEvents(m));
    expect((await applyQueuedEvents(store, decoded, clock.now)).applied).toBe(1);
    // Delivered again an hour later: counted once.
    expect((await applyQueuedEvents(store, decoded, clock.now + 3_600_000)).applied).toBe(0);
    const answer = await json(await t.get("/api/v1/counter/q/view/history?days=3"));
    expect(answer.data.days.map((d: { delta: number }) => d.delta)).toEqual([6, 0, 0]);
  });
});

describe("GET …/history.svg", () => {
  it("draws the days as a sparkline: well-formed SVG, one point a day, cached as a badge", async () => {
    const t = clockedApp();
    await t.view("s", 3);
    t.clock.now += DAY;
    await t.view("s", 9);
    const res = await t.get("/api/v1/counter/s/view/history.svg?days=7");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(res.headers.get("content-security-policy")).not.toContain("script");
    const svg = await res.text();
    expect(xmlProblem(svg)).toBeUndefined();
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="200" height="40"/);
    expect(svg).toContain("<title>view of s: +12 in 7 days</title>");
    const points = /points="([^"]+)"/.exec(svg)?.[1]?.split(" ") ?? [];
    expect(points).toHaveLength(7);
    // The highest day at the top, days without change on the zero line at the bottom.
    const ys = points.map((p) => Number(p.split(",")[1]));
    expect(ys[6]).toBe(3);
    expect(ys[0]).toBe(37);
    expect(ys[5]).toBeGreaterThan(ys[6] as number);
    expect(ys[5]).toBeLessThan(ys[0] as number);
  });

  it("draws one day, and a falling day below the zero line, still well-formed", async () => {
    const t = clockedApp();
    await t.like("f", "x");
    t.clock.now += DAY;
    await t.like("f", "x", -1);
    const one = await (await t.get("/api/v1/counter/f/like/history.svg?days=1")).text();
    expect(xmlProblem(one)).toBeUndefined();
    expect(/points="([^"]+)"/.exec(one)?.[1]?.split(" ")).toHaveLength(2);
    const two = await (await t.get("/api/v1/counter/f/like/history.svg?days=2")).text();
    expect(two).toContain("<title>like of f: +0 in 2 days</title>");
    expect(two).toContain('points="3,3 197,37"');
  });

  it("is a read: READ_AUTH applies, and then it is private", async () => {
    const t = clockedApp({ apiKeys: [KEY], readAuth: true });
    for (const route of ["history", "history.svg"]) {
      expect((await t.get(`/api/v1/counter/p/view/${route}`)).status).toBe(401);
    }
    const keyed = await t.get("/api/v1/counter/p/view/history.svg", { authorization: `Bearer ${KEY}` });
    expect(keyed.status).toBe(200);
    expect(keyed.headers.get("cache-control")).toBe("private, max-age=60");
  });
});

describe("the XML check the SVG tests rely on", () => {
  it("refuses what is not well-formed", () => {
    expect(xmlProblem('<svg a="1"><title>x</title></svg>')).toBeUndefined();
    for (const broken of [
      "<svg><title>a & b</title></svg>",
      "<svg><title>x</svg>",
      '<svg a="1" a="2"/>',
      "<svg a=1/>",
      "<svg/><svg/>",
      "<svg>\ufffe</svg>",
      "<svg><title>a < b</title></svg>",
    ]) {
      expect(xmlProblem(broken), broken).toBeDefined();
    }
  });
});
