// The store contract: every backend (memory, Redis, Redis Cluster, Upstash) must give the
// same answers. Concurrency is driven through the real app, end to end.

import { beforeAll, describe, expect, it } from "vitest";
import { CountLimitError, IdempotencyConflictError, RateLimitedError } from "../../shared/domain/errors.ts";
import {
  type CounterRecord,
  type CounterStore,
  type IncrementCommand,
  MAX_EXACT_COUNT,
  type QueuedEvent,
} from "../../shared/domain/model.ts";
import { applyQueuedEvents } from "../../shared/runtime/events-consumer.ts";
import type { Backend } from "../support/backends.ts";
import { json, testApp } from "../support/test-app.ts";
import { historyContract } from "./history-contract.ts";
import { liveContract } from "./live-contract.ts";

const T0 = Date.parse("2026-11-25T10:15:00Z"); // a Wednesday
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const like = (resourceId: string, userId: string, delta = 1, now = T0): IncrementCommand => ({
  resourceId,
  type: "like",
  kind: "unique",
  userId,
  delta,
  now,
});
const view = (resourceId: string, delta = 1, userId = "u1", now = T0): IncrementCommand => ({
  resourceId,
  type: "view",
  kind: "total",
  userId,
  delta,
  now,
});

export function storeContract(backend: () => Backend): void {
  let store: CounterStore;
  beforeAll(() => {
    store = backend().store();
  });

  describe("total counters", () => {
    it("adds each increment and returns the value after it", async () => {
      expect((await store.increment(view("t1", 5))).count).toBe(5);
      const second = await store.increment(view("t1", 1_000_000));
      expect(second).toEqual({ count: 1_000_005, applied: true, replayed: false });
      const [reading] = await store.read([{ resourceId: "t1", type: "view", kind: "total" }]);
      expect(reading?.count).toBe(1_000_005);
    });

    it("counts the distinct users that incremented it", async () => {
      for (const user of ["a", "b", "a", "c", "b"]) await store.increment(view("t2", 1, user));
      const [reading] = await store.read([{ resourceId: "t2", type: "view", kind: "total", detail: true }]);
      expect(reading).toEqual({ count: 5, uniqueUsers: 3 });
    });

    it("reads 0 for a counter never incremented", async () => {
      const [reading] = await store.read([
        { resourceId: "never", type: "view", kind: "total", detail: true },
      ]);
      expect(reading).toEqual({ count: 0, uniqueUsers: 0 });
    });
  });

  describe("unique counters", () => {
    it("counts a user once and reports whether the request changed anything", async () => {
      expect(await store.increment(like("u1", "alice"))).toEqual({
        count: 1,
        applied: true,
        replayed: false,
      });
      expect(await store.increment(like("u1", "alice"))).toEqual({
        count: 1,
        applied: false,
        replayed: false,
      });
      expect(await store.increment(like("u1", "bob"))).toEqual({ count: 2, applied: true, replayed: false });
    });

    it("removes a user with -1, never going below 0", async () => {
      await store.increment(like("u2", "alice"));
      expect(await store.increment(like("u2", "alice", -1))).toEqual({
        count: 0,
        applied: true,
        replayed: false,
      });
      expect(await store.increment(like("u2", "alice", -1))).toEqual({
        count: 0,
        applied: false,
        replayed: false,
      });
      expect(await store.increment(like("u2", "nobody", -1))).toEqual({
        count: 0,
        applied: false,
        replayed: false,
      });
    });

    it("answers membership of a user", async () => {
      await store.increment(like("u3", "alice"));
      const readings = await store.read([
        { resourceId: "u3", type: "like", kind: "unique", detail: true, userId: "alice" },
        { resourceId: "u3", type: "like", kind: "unique", detail: true, userId: "bob" },
        { resourceId: "u3", type: "like", kind: "unique", detail: true },
      ]);
      expect(readings).toEqual([{ count: 1, member: true }, { count: 1, member: false }, { count: 1 }]);
    });

    it("keeps types and resources apart", async () => {
      await store.increment(like("u4", "alice"));
      await store.increment({ ...like("u4", "alice"), type: "follow" });
      await store.increment({ ...like("u4", "bob"), type: "follow" });
      await store.increment(like("u4-other", "carol"));
      const readings = await store.read([
        { resourceId: "u4", type: "like", kind: "unique" },
        { resourceId: "u4", type: "follow", kind: "unique" },
        { resourceId: "u4-other", type: "like", kind: "unique" },
      ]);
      expect(readings.map((r) => r.count)).toEqual([1, 2, 1]);
    });
  });

  describe("reading many", () => {
    it("answers in request order, duplicates included, across resources", async () => {
      await store.increment(view("m1", 3));
      await store.increment(like("m2", "x"));
      const queries = [
        { resourceId: "m2", type: "like", kind: "unique" as const },
        { resourceId: "m1", type: "view", kind: "total" as const },
        { resourceId: "m-none", type: "view", kind: "total" as const },
        { resourceId: "m1", type: "view", kind: "total" as const },
      ];
      expect((await store.read(queries)).map((r) => r.count)).toEqual([1, 3, 0, 3]);
    });

    it("reads 100 counters of 100 resources", async () => {
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.increment(view(`many-${i}`, i + 1))));
      const readings = await store.read(
        Array.from({ length: 100 }, (_, i) => ({
          resourceId: `many-${i}`,
          type: "view",
          kind: "total" as const,
        })),
      );
      expect(readings.map((r) => r.count)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    });
  });

  describe("concurrency, through the app", () => {
    it("N concurrent +1s end at exactly N, each response with a distinct count", async () => {
      const { increment, get } = testApp(store);
      const n = 200;
      const responses = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          increment({ resource_id: "c1", counter_type: "view", user_id: `u${i}` }),
        ),
      );
      const counts = await Promise.all(responses.map(async (r) => (await json(r)).data.count as number));
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(new Set(counts).size).toBe(n);
      expect(Math.max(...counts)).toBe(n);
      const { data } = await json(await get("/api/v1/counter/c1/view"));
      expect(data.count).toBe(n);
      // Redis counts distinct users with a HyperLogLog: about 0.8% standard error.
      expect(Math.abs(data.unique_users - n)).toBeLessThanOrEqual(n * 0.02);
    });

    it("200 concurrent likes by one user count once, applied exactly once", async () => {
      const { increment } = testApp(store);
      const responses = await Promise.all(
        Array.from({ length: 200 }, () =>
          increment({ resource_id: "c2", counter_type: "like", user_id: "same" }),
        ),
      );
      const bodies = await Promise.all(responses.map(json));
      expect(bodies.filter((b) => b.data.applied === true)).toHaveLength(1);
      expect(bodies.every((b) => b.data.count === 1)).toBe(true);
    });

    it("concurrent likes by distinct users each see a distinct count", async () => {
      const { increment } = testApp(store);
      const responses = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          increment({ resource_id: "c3", counter_type: "like", user_id: `u${i}` }),
        ),
      );
      const counts = (await Promise.all(responses.map(json))).map((b) => b.data.count as number);
      expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    });
  });

  describe("hot ranking", () => {
    it("orders by count, highest first, ties by resource_id, and honours the limit", async () => {
      const s = backend().store();
      const plan: Record<string, number> = { d: 3, a: 5, c: 3, b: 3, e: 1, f: 3 };
      for (const [id, n] of Object.entries(plan)) await s.increment(view(id, n));
      const all = await s.ranking({ type: "view", period: "all", limit: 10, now: T0 });
      expect(all).toEqual([
        { resourceId: "a", count: 5 },
        { resourceId: "b", count: 3 },
        { resourceId: "c", count: 3 },
        { resourceId: "d", count: 3 },
        { resourceId: "f", count: 3 },
        { resourceId: "e", count: 1 },
      ]);
      expect(
        (await s.ranking({ type: "view", period: "day", limit: 3, now: T0 })).map((i) => i.resourceId),
      ).toEqual(["a", "b", "c"]);
      expect(
        (await s.ranking({ type: "view", period: "week", limit: 1, now: T0 })).map((i) => i.resourceId),
      ).toEqual(["a"]);
    });

    it("answers each period from its own UTC bucket and rolls over with the clock", async () => {
      const s = backend().store();
      await s.increment(view("old", 10, "u", T0 - 2 * DAY)); // Monday, same ISO week
      await s.increment(view("earlier", 5, "u", T0 - HOUR)); // same day, previous hour
      await s.increment(view("now", 1, "u", T0));
      const ids = async (period: "hour" | "day" | "week" | "all", now = T0) =>
        (await s.ranking({ type: "view", period, limit: 10, now })).map((i) => `${i.resourceId}:${i.count}`);
      expect(await ids("hour")).toEqual(["now:1"]);
      expect(await ids("day")).toEqual(["earlier:5", "now:1"]);
      expect(await ids("week")).toEqual(["old:10", "earlier:5", "now:1"]);
      expect(await ids("all")).toEqual(["old:10", "earlier:5", "now:1"]);
      // The next hour, day and week start empty; the all-time ranking stays.
      expect(await ids("hour", T0 + HOUR)).toEqual([]);
      expect(await ids("day", T0 + DAY)).toEqual([]);
      expect(await ids("week", T0 + 7 * DAY)).toEqual([]);
      expect(await ids("all", T0 + 30 * DAY)).toEqual(["old:10", "earlier:5", "now:1"]);
    });

    it("answers a week as the sum of its days, at most a minute behind what was written", async () => {
      const s = backend().store();
      await s.increment(view("monday", 3, "u", T0 - 2 * DAY));
      await s.increment(view("today", 2, "u", T0));
      await s.increment(view("today", 1, "u", T0 - 2 * DAY));
      const week = async (now: number) =>
        (await s.ranking({ type: "view", period: "week", limit: 10, now })).map(
          (i) => `${i.resourceId}:${i.count}`,
        );
      expect(await week(T0)).toEqual(["monday:3", "today:3"]);
      await s.increment(view("today", 5, "u", T0));
      // Redis keeps the sum for a minute (memory sums at once): a minute on, every store has it.
      expect(await week(T0 + 60_000)).toEqual(["today:8", "monday:3"]);
      // Last week's days are not in this week's sum.
      await s.increment(view("last_week", 50, "u", T0 - 7 * DAY));
      expect(await week(T0 + 120_000)).toEqual(["today:8", "monday:3"]);
    });

    it("lowers on an unlike, ignores no-ops, and drops resources that fall to 0", async () => {
      const s = backend().store();
      await s.increment(like("p", "u1"));
      await s.increment(like("p", "u2"));
      await s.increment(like("q", "u1"));
      await s.increment(like("p", "u1")); // no-op: already a member
      await s.increment(like("q", "nobody", -1)); // no-op: not a member
      const day = async (now = T0) =>
        (await s.ranking({ type: "like", period: "day", limit: 10, now })).map(
          (i) => `${i.resourceId}:${i.count}`,
        );
      expect(await day()).toEqual(["p:2", "q:1"]);
      await s.increment(like("q", "u1", -1));
      expect(await day()).toEqual(["p:2"]);
      expect(await s.ranking({ type: "like", period: "all", limit: 10, now: T0 })).toEqual([
        { resourceId: "p", count: 2 },
      ]);
      // Unliking tomorrow what was liked today: tomorrow shows nothing, all-time goes down.
      await s.increment(like("p", "u2", -1, T0 + DAY));
      expect(await day(T0 + DAY)).toEqual([]);
      expect(await s.ranking({ type: "like", period: "all", limit: 10, now: T0 + DAY })).toEqual([
        { resourceId: "p", count: 1 },
      ]);
    });

    it("keeps 100 of many tied resources in resource_id order", async () => {
      const s = backend().store();
      const ids = Array.from({ length: 150 }, (_, i) => `r${String(i).padStart(3, "0")}`);
      await Promise.all([...ids].reverse().map((id) => s.increment(view(id, 1))));
      await s.increment(view("r149", 1));
      const top = await s.ranking({ type: "view", period: "day", limit: 100, now: T0 });
      expect(top).toHaveLength(100);
      expect(top[0]).toEqual({ resourceId: "r149", count: 2 });
      expect(top.slice(1).map((i) => i.resourceId)).toEqual(ids.slice(0, 99));
    });
  });

  describe("rate limits", () => {
    const perUser = (user: string, limit = 3, windowMs = 60_000) => [
      { subject: `user:${user}`, limit, windowMs },
    ];

    it("count requests per subject and refuse past the limit, applying nothing", async () => {
      const s = backend().store();
      for (let i = 1; i <= 3; i++) {
        expect((await s.increment({ ...view("rl1", 1, "u", T0), limits: perUser("u") })).count).toBe(i);
      }
      const refused = await s
        .increment({ ...view("rl1", 1, "u", T0), limits: perUser("u") })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RateLimitedError);
      // The domain says how long to wait; the HTTP edge makes it a 429 with Retry-After.
      const retryAfterMs = (refused as RateLimitedError).retryAfterMs;
      expect(retryAfterMs).toBeGreaterThanOrEqual(1);
      expect(retryAfterMs).toBeLessThanOrEqual(60_000);
      expect((await s.read([{ resourceId: "rl1", type: "view", kind: "total" }]))[0]?.count).toBe(3);
      // Another subject has its own window; an answer replayed for its key uses no quota.
      expect((await s.increment({ ...view("rl1", 1, "v", T0), limits: perUser("v") })).count).toBe(4);
    });

    it("check a window with weight 0 for room for one more, counting nothing", async () => {
      const s = backend().store();
      const window = { subject: "auth:198.51.100.1", limit: 2, windowMs: 60_000 };
      const check = [{ ...window, weight: 0 }];
      // Checks never fill the window.
      for (let i = 0; i < 5; i++) await s.limit(check, T0);
      await s.limit([window], T0);
      await s.limit(check, T0);
      await s.limit([window], T0);
      // Full: the check refuses, in limit() and inside an increment, which then applies nothing.
      await expect(s.limit(check, T0)).rejects.toBeInstanceOf(RateLimitedError);
      await expect(s.increment({ ...view("rl0", 1, "u", T0), limits: check })).rejects.toBeInstanceOf(
        RateLimitedError,
      );
      expect((await s.read([{ resourceId: "rl0", type: "view", kind: "total" }]))[0]?.count).toBe(0);
      // Another window is not affected.
      await s.increment({
        ...view("rl0", 1, "u", T0),
        limits: [{ ...window, subject: "auth:198.51.100.2", weight: 0 }],
      });
    });

    it("refuse on the first full window of several, counting none of them (Cluster: per subject)", async () => {
      const s = backend().store();
      const cluster = backend().name === "redis-cluster";
      const limits = [
        { subject: "ip:10.0.0.1", limit: 5, windowMs: 60_000 },
        { subject: "user:w", limit: 1, windowMs: 60_000 },
      ];
      await s.increment({ ...view("rl2", 1, "w", T0), limits });
      await expect(s.increment({ ...view("rl2", 1, "w", T0), limits })).rejects.toBeInstanceOf(
        RateLimitedError,
      );
      // Elsewhere the refused request used none of the address's quota (1 used, 4 more fit).
      // On a cluster each subject's window is in its own slot and counted on its own, so
      // the refused request did use one of the address's (2 used, 3 more fit).
      const ip = [{ subject: "ip:10.0.0.1", limit: 5, windowMs: 60_000 }];
      for (let i = 0; i < (cluster ? 3 : 4); i++) await s.limit(ip, T0);
      await expect(s.limit(ip, T0)).rejects.toBeInstanceOf(RateLimitedError);
    });

    it("let replays of an Idempotency-Key through uncounted (Cluster: counted, never applied twice)", async () => {
      const s = backend().store();
      const command = { ...view("rl3", 1, "r", T0), idempotencyKey: "k", limits: perUser("r", 1) };
      const first = await s.increment(command);
      if (backend().name === "redis-cluster") {
        // The windows live in other slots, so they are checked before the script that knows
        // the key: the retry is refused with 429, and the count is not touched.
        await expect(s.increment(command)).rejects.toBeInstanceOf(RateLimitedError);
        expect((await s.read([{ resourceId: "rl3", type: "view", kind: "total" }]))[0]?.count).toBe(1);
      } else {
        expect(await s.increment(command)).toEqual({ ...first, replayed: true });
      }
    });

    it("open a new window when the old one ends", async () => {
      const s = backend().store();
      const limits = [{ subject: "key:abc", limit: 1, windowMs: 200 }];
      const start = Date.now();
      await s.limit(limits, start);
      await expect(s.limit(limits, start)).rejects.toBeInstanceOf(RateLimitedError);
      await new Promise((r) => setTimeout(r, 450)); // Redis expires windows on its own clock
      await s.limit(limits, start + 450);
    });
  });

  describe("idempotency keys", () => {
    it("applies the first request and replays its answer for a retry", async () => {
      const first = await store.increment({ ...view("i1", 7), idempotencyKey: "key-1" });
      expect(first).toEqual({ count: 7, applied: true, replayed: false });
      await store.increment(view("i1", 1)); // someone else's increment in between
      const retry = await store.increment({ ...view("i1", 7), idempotencyKey: "key-1" });
      expect(retry).toEqual({ count: 7, applied: true, replayed: true });
      expect((await store.read([{ resourceId: "i1", type: "view", kind: "total" }]))[0]?.count).toBe(8);
    });

    it("replays a no-op answer as a no-op", async () => {
      await store.increment(like("i2", "alice"));
      expect(await store.increment({ ...like("i2", "alice"), idempotencyKey: "k" })).toEqual({
        count: 1,
        applied: false,
        replayed: false,
      });
      expect(await store.increment({ ...like("i2", "alice"), idempotencyKey: "k" })).toEqual({
        count: 1,
        applied: false,
        replayed: true,
      });
    });

    it("refuses the same key with a different request", async () => {
      await store.increment({ ...view("i3", 2), idempotencyKey: "k" });
      await expect(store.increment({ ...view("i3", 3), idempotencyKey: "k" })).rejects.toBeInstanceOf(
        IdempotencyConflictError,
      );
      await expect(
        store.increment({ ...view("i3", 2, "other-user"), idempotencyKey: "k" }),
      ).rejects.toBeInstanceOf(IdempotencyConflictError);
      await expect(store.increment({ ...like("i3", "u1"), idempotencyKey: "k" })).rejects.toBeInstanceOf(
        IdempotencyConflictError,
      );
      expect((await store.read([{ resourceId: "i3", type: "view", kind: "total" }]))[0]?.count).toBe(2);
    });

    it("scopes keys to their resource", async () => {
      await store.increment({ ...view("i4a", 1), idempotencyKey: "shared" });
      expect(await store.increment({ ...view("i4b", 1), idempotencyKey: "shared" })).toMatchObject({
        replayed: false,
      });
    });

    it("applies 50 parallel duplicates exactly once", async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, () => store.increment({ ...view("i5", 3), idempotencyKey: "dup" })),
      );
      expect(outcomes.filter((o) => !o.replayed)).toHaveLength(1);
      expect(outcomes.every((o) => o.count === 3 && o.applied)).toBe(true);
      expect((await store.read([{ resourceId: "i5", type: "view", kind: "total" }]))[0]?.count).toBe(3);
    });

    it("forgets a key after its time to live", async () => {
      const s = backend().store({ idempotencyTtlMs: 150 });
      await s.increment({ ...view("i6", 1, "u", T0), idempotencyKey: "k" });
      await new Promise((r) => setTimeout(r, 400)); // Redis expires on its own clock
      const later = await s.increment({ ...view("i6", 1, "u", T0 + 400), idempotencyKey: "k" });
      expect(later).toEqual({ count: 2, applied: true, replayed: false });
    });
  });

  describe("at the limits", () => {
    it("counts exactly up to 2^53 - 1 and refuses to pass it, applying nothing", async () => {
      const s = backend().store();
      expect((await s.increment(view("big", MAX_EXACT_COUNT - 5))).count).toBe(MAX_EXACT_COUNT - 5);
      expect(await s.increment(view("big", 5, "u2"))).toEqual({
        count: MAX_EXACT_COUNT,
        applied: true,
        replayed: false,
      });
      await expect(s.increment(view("big", 1, "u3"))).rejects.toBeInstanceOf(CountLimitError);
      await expect(s.increment({ ...view("big", 1, "u3"), idempotencyKey: "over" })).rejects.toBeInstanceOf(
        CountLimitError,
      );
      const [reading] = await s.read([{ resourceId: "big", type: "view", kind: "total", detail: true }]);
      // u3 was refused: not counted among the users either.
      expect(reading).toEqual({ count: MAX_EXACT_COUNT, uniqueUsers: 2 });
      expect(await s.ranking({ type: "view", period: "all", limit: 1, now: T0 })).toEqual([
        { resourceId: "big", count: MAX_EXACT_COUNT },
      ]);
      // The refused request left no idempotency record: the key applies once there is room.
      expect((await s.increment({ ...view("big2", 1, "u3"), idempotencyKey: "over" })).replayed).toBe(false);
    });

    it("replays an idempotent answer whose count is past 10^14 exactly", async () => {
      const s = backend().store();
      await s.increment(view("huge", 100_000_000_000_000));
      const first = await s.increment({ ...view("huge", 5), idempotencyKey: "k" });
      expect(first).toEqual({ count: 100_000_000_000_005, applied: true, replayed: false });
      const replay = await s.increment({ ...view("huge", 5), idempotencyKey: "k" });
      expect(replay).toEqual({ count: 100_000_000_000_005, applied: true, replayed: true });
      const [all] = await s.ranking({ type: "view", period: "all", limit: 1, now: T0 });
      expect(all).toEqual({ resourceId: "huge", count: 100_000_000_000_005 });
    });

    it("keeps each ranking to its cap, and a trimmed member re-enters with its exact count", async () => {
      // One shard: on a cluster each ranking shard keeps its share of the cap.
      const s = backend().store({ rankingMaxMembers: 3, rankingShards: 1 });
      // c1..c5 with counts 1..5: the all-time ranking and the day bucket keep the top 3.
      for (let i = 1; i <= 5; i++) await s.increment(view(`c${i}`, i));
      const top = async (period: "all" | "day") =>
        (await s.ranking({ type: "view", period, limit: 100, now: T0 })).map(
          (x) => `${x.resourceId}:${x.count}`,
        );
      expect(await top("all")).toEqual(["c5:5", "c4:4", "c3:3"]);
      expect(await top("day")).toEqual(["c5:5", "c4:4", "c3:3"]);
      // c1 was trimmed at 1; +10 takes it to 11, and it re-enters with 11, not 10.
      expect((await s.increment(view("c1", 10))).count).toBe(11);
      expect(await top("all")).toEqual(["c1:11", "c5:5", "c4:4"]);
      // A bucket adds deltas, so there c1 re-enters with what it gained today.
      expect(await top("day")).toEqual(["c1:10", "c5:5", "c4:4"]);
    });
  });

  describe("batches of increments", () => {
    it("apply in order, each answering the count after it", async () => {
      const s = backend().store();
      const batch = [
        view("m1", 5),
        like("m1", "u1"),
        like("m1", "u1"),
        view("m1", 1, "u2"),
        like("m2", "u2"),
      ];
      const outcomes = await s.incrementMany(batch, [], T0);
      expect(outcomes.map((o) => `${o.count}:${o.applied}`)).toEqual([
        "5:true",
        "1:true",
        "1:false",
        "6:true",
        "1:true",
      ]);
      const readings = await s.read([
        { resourceId: "m1", type: "view", kind: "total", detail: true },
        { resourceId: "m2", type: "like", kind: "unique" },
      ]);
      expect(readings).toEqual([{ count: 6, uniqueUsers: 2 }, { count: 1 }]);
      const top = await s.ranking({ type: "view", period: "day", limit: 10, now: T0 });
      expect(top).toEqual([{ resourceId: "m1", count: 6 }]);
    });

    it("replay a retried keyed batch from its record, and refuse the key with any other batch, applying nothing", async () => {
      const s = backend().store();
      const batch = [view("k1", 2), like("k2", "u1"), view("k1", 3)];
      const first = await s.incrementMany(batch, [], T0, "b");
      const again = await s.incrementMany(batch, [], T0, "b");
      expect(again).toEqual(first.map((o) => ({ ...o, replayed: true })));
      const others = [
        batch.slice(0, 1), // fewer items
        [...batch, view("k3", 1)], // more items: the first three are the same
        batch.map((c, i) => (i === 2 ? { ...c, delta: 4 } : c)), // one item changed
        [view("k4", 1)], // other resources altogether
      ];
      for (const other of others) {
        const conflict = await s.incrementMany(other, [], T0, "b").catch((e: unknown) => e);
        expect(conflict).toBeInstanceOf(IdempotencyConflictError);
      }
      const readings = await s.read(
        ["k1", "k3", "k4"].map((resourceId) => ({ resourceId, type: "view", kind: "total" as const })),
      );
      expect(readings.map((r) => r.count)).toEqual([5, 0, 0]);
    });

    it("apply nothing when an item would pass 2^53 - 1, naming it", async () => {
      const s = backend().store();
      await s.increment(view("full", MAX_EXACT_COUNT - 3));
      const batch = [view("full", 2), like("full", "u1"), view("full", 2)];
      const refused = await s.incrementMany(batch, [], T0).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CountLimitError);
      expect((refused as CountLimitError).index).toBe(2);
      const readings = await s.read([
        { resourceId: "full", type: "view", kind: "total" },
        { resourceId: "full", type: "like", kind: "unique" },
      ]);
      expect(readings.map((r) => r.count)).toEqual([MAX_EXACT_COUNT - 3, 0]);
    });

    it("count a user's items against the user's limit and the request once against the others", async () => {
      const s = backend().store();
      const user = { subject: "user:heavy", limit: 3, windowMs: 60_000 };
      const ip = { subject: "ip:10.1.1.1", limit: 2, windowMs: 60_000 };
      const items = (n: number) => Array.from({ length: n }, (_, i) => view(`w${i}`, 1, "heavy"));
      const tooMany = await s
        .incrementMany(items(4), [{ ...user, weight: 4 }, ip], T0)
        .catch((e: unknown) => e);
      expect(tooMany).toBeInstanceOf(RateLimitedError);
      expect((await s.read([{ resourceId: "w0", type: "view", kind: "total" }]))[0]?.count).toBe(0);
      expect(await s.incrementMany(items(3), [{ ...user, weight: 3 }, ip], T0)).toHaveLength(3);
      await expect(s.incrementMany(items(1), [{ ...user, weight: 1 }], T0)).rejects.toBeInstanceOf(
        RateLimitedError,
      );
      // The address counted the accepted batch once: one more request fits. On a cluster each
      // subject is counted on its own, so the refused batch took the address's other one.
      if (backend().name !== "redis-cluster") {
        expect(await s.incrementMany([view("w9", 1, "light")], [ip], T0)).toHaveLength(1);
      }
      await expect(s.incrementMany([view("w9", 1, "light")], [ip], T0)).rejects.toBeInstanceOf(
        RateLimitedError,
      );
    });
  });

  describe("queued events", () => {
    const ev = (id: string, resourceId: string, userId: string, delta = 1, type = "view"): QueuedEvent => ({
      eventId: id,
      resourceId,
      type,
      kind: type === "view" ? "total" : "unique",
      userId,
      delta,
    });

    it("apply a counter's events in one call, coalesced, each id once, also when delivered again", async () => {
      const s = backend().store();
      const events = Array.from({ length: 1000 }, (_, i) => ev(`e${i}`, "hot", `u${i % 10}`));
      expect(await s.applyEvents([...events, events[0] as QueuedEvent], T0)).toBe(1000);
      expect(await s.applyEvents(events.slice(0, 500), T0)).toBe(0);
      const [reading] = await s.read([{ resourceId: "hot", type: "view", kind: "total", detail: true }]);
      expect(reading).toEqual({ count: 1000, uniqueUsers: 10 });
      expect(await s.ranking({ type: "view", period: "all", limit: 1, now: T0 })).toEqual([
        { resourceId: "hot", count: 1000 },
      ]);
      expect(await s.ranking({ type: "view", period: "hour", limit: 1, now: T0 })).toEqual([
        { resourceId: "hot", count: 1000 },
      ]);
    });

    it("follow a unique counter's events in order: like, unlike, like again", async () => {
      const s = backend().store();
      const events = [
        ev("l1", "p", "a", 1, "like"),
        ev("l2", "p", "a", -1, "like"),
        ev("l3", "p", "b", 1, "like"),
        ev("l4", "p", "a", 1, "like"),
      ];
      expect(await s.applyEvents(events, T0)).toBe(4);
      const [reading] = await s.read([
        { resourceId: "p", type: "like", kind: "unique", detail: true, userId: "a" },
      ]);
      expect(reading).toEqual({ count: 2, member: true });
      expect(await s.ranking({ type: "like", period: "all", limit: 5, now: T0 })).toEqual([
        { resourceId: "p", count: 2 },
      ]);
      // Indexed for erasure like an increment's like.
      expect(await s.eraseUser("a", T0)).toBe(1);
    });

    it("apply a like and a view of one resource in one message each to its own counter", async () => {
      // The consumer groups a message's events by counter (type and resource) for the store,
      // which takes one counter's per call: a like merged into the view's call would be a
      // SADD to the like set for the view's +5 (the view stays 0, nothing reported).
      const s = backend().store();
      const events = [
        ev("m1", "same", "a", 1, "like"),
        ev("m2", "same", "b", 5),
        ev("m3", "same", "c", 1, "like"),
      ];
      expect(await applyQueuedEvents(s, events, T0)).toEqual({ applied: 3, failed: [] });
      const [likes, views] = await s.read([
        { resourceId: "same", type: "like", kind: "unique", detail: true, userId: "a" },
        { resourceId: "same", type: "view", kind: "total", detail: true },
      ]);
      expect(likes).toEqual({ count: 2, member: true });
      expect(views).toEqual({ count: 5, uniqueUsers: 1 });
    });

    it("apply none of a counter's events that would pass 2^53 - 1, and forget none of their ids", async () => {
      const s = backend().store();
      await s.increment(view("edge", MAX_EXACT_COUNT - 1));
      await expect(
        s.applyEvents([ev("x1", "edge", "u", 1), ev("x2", "edge", "u", 1)], T0),
      ).rejects.toBeInstanceOf(CountLimitError);
      expect((await s.read([{ resourceId: "edge", type: "view", kind: "total" }]))[0]?.count).toBe(
        MAX_EXACT_COUNT - 1,
      );
      expect(await s.applyEvents([ev("x1", "edge", "u", 1)], T0)).toBe(1);
    });

    it("claim an Idempotency-Key for queued events: the same events again pass, other events are refused", async () => {
      const s = backend().store();
      const events = [ev("idem:c1#0", "c", "a"), ev("idem:c1#1", "c", "b")];
      await s.claimEventsKey("c1", events, T0);
      await s.claimEventsKey("c1", events, T0 + 1000);
      for (const other of [
        events.slice(0, 1),
        [...events, ev("idem:c1#2", "c", "c")],
        [ev("idem:c1#0", "d", "a")],
      ]) {
        await expect(s.claimEventsKey("c1", other, T0)).rejects.toBeInstanceOf(IdempotencyConflictError);
      }
      await s.claimEventsKey("c2", events.slice(0, 1), T0); // another key is another request
    });

    it("queue messages in the backend's local event queue, in order, and remove only those taken", async () => {
      const q = backend().queue();
      expect(await q.length()).toBe(0);
      for (const m of ["m1", "m2", "m3"]) await q.push(m);
      expect(await q.peek(2)).toEqual(["m1", "m2"]);
      await q.push("m4");
      expect(await q.length()).toBe(4);
      await q.remove(["m1", "m2"]);
      expect(await q.peek(10)).toEqual(["m3", "m4"]);
      expect(await q.length()).toBe(2);
    });
  });

  describe("operator commands", () => {
    const V = { type: "view", kind: "total" as const };
    const L = { type: "like", kind: "unique" as const };
    const top = async (s: CounterStore, type: string, period: "all" | "day" = "all") =>
      (await s.ranking({ type, period, limit: 100, now: T0 })).map((x) => `${x.resourceId}:${x.count}`);

    it("set a total counter and its all-time score, to any exact count and back to 0", async () => {
      const s = backend().store();
      await s.increment(view("s1", 5));
      await s.setCount({ resourceId: "s1", ...V }, 1234, T0);
      await s.setCount({ resourceId: "s2", ...V }, MAX_EXACT_COUNT, T0);
      expect((await s.read([{ resourceId: "s1", ...V }]))[0]?.count).toBe(1234);
      expect(await top(s, "view")).toEqual([`s2:${MAX_EXACT_COUNT}`, "s1:1234"]);
      expect((await s.increment(view("s1", 1))).count).toBe(1235);
      await s.setCount({ resourceId: "s1", ...V }, 0, T0);
      expect((await s.read([{ resourceId: "s1", ...V }]))[0]?.count).toBe(0);
      expect(await top(s, "view")).toEqual([`s2:${MAX_EXACT_COUNT}`]);
    });

    it("reset a counter of either kind: count, users, members, every ranking", async () => {
      const s = backend().store();
      for (const u of ["u1", "u2"]) await s.increment(like("r1", u));
      await s.increment(like("r2", "u1"));
      await s.increment(view("r1", 7, "u1"));
      await s.reset({ resourceId: "r1", ...L }, T0);
      await s.reset({ resourceId: "r1", ...V }, T0);
      const [l, v] = await s.read([
        { resourceId: "r1", ...L, detail: true, userId: "u1" },
        { resourceId: "r1", ...V, detail: true },
      ]);
      expect(l).toEqual({ count: 0, member: false });
      expect(v).toEqual({ count: 0, uniqueUsers: 0 });
      expect(await top(s, "like")).toEqual(["r2:1"]);
      expect(await top(s, "like", "day")).toEqual(["r2:1"]);
      expect(await top(s, "view", "day")).toEqual([]);
      // Counting starts again from 0.
      expect((await s.increment(like("r1", "u2"))).count).toBe(1);
    });

    it("erase a user from every unique counter, as unlikes, and rerun to the same state", async () => {
      const s = backend().store();
      for (const id of ["e1", "e2", "e3"]) await s.increment(like(id, "gone"));
      await s.increment({ ...like("e4", "gone"), type: "follow" });
      await s.increment(like("e1", "stays"));
      await s.increment(like("e5", "gone"));
      await s.increment(like("e5", "gone", -1)); // unliked already: not in it any more
      await s.increment(view("e1", 3, "gone"));
      expect(await s.eraseUser("gone", T0)).toBe(4);
      const readings = await s.read([
        { resourceId: "e1", ...L, detail: true, userId: "gone" },
        { resourceId: "e2", ...L },
        { resourceId: "e4", type: "follow", kind: "unique" },
        { resourceId: "e1", ...V },
      ]);
      expect(readings.map((r) => r.count)).toEqual([1, 0, 0, 3]);
      expect(readings[0]?.member).toBe(false);
      expect(await top(s, "like")).toEqual(["e1:1"]);
      expect(await top(s, "like", "day")).toEqual(["e1:1"]);
      expect(await s.eraseUser("gone", T0)).toBe(0);
      expect(await top(s, "like")).toEqual(["e1:1"]);
      expect(await s.eraseUser("never-seen", T0)).toBe(0);
    });

    it("export every counter and import it elsewhere, twice, to the same counts, members and rankings", async () => {
      const from = backend().store();
      for (let i = 0; i < 30; i++) await from.increment(view(`x${i}`, i + 1, `u${i % 4}`));
      for (let i = 0; i < 12; i++) await from.increment(like(`x${i % 5}`, `u${i}`));
      const exported = await collect(from.exportCounters({ members: true }));
      expect(exported).toHaveLength(35);
      const to = backend().store();
      await to.importCounters(exported, T0);
      await to.importCounters(exported, T0);
      expect(await collect(to.exportCounters({ members: true }))).toEqual(exported);
      expect(await top(to, "view")).toEqual(await top(from, "view"));
      expect(await top(to, "like")).toEqual(await top(from, "like"));
      expect((await to.read([{ resourceId: "x1", ...L, detail: true, userId: "u6" }]))[0]).toEqual({
        count: 3,
        member: true,
      });
      // Imported members are indexed: erasure finds them.
      expect(await to.eraseUser("u6", T0)).toBe(1);
      const counts = await collect(from.exportCounters({ members: false }));
      expect(counts.every((r) => r.users === undefined)).toBe(true);
    });
  });

  historyContract(backend);
  liveContract(backend);
}

/** Every record of an export, sorted, users sorted: comparable across stores. */
export async function collect(pages: AsyncIterable<CounterRecord[]>): Promise<CounterRecord[]> {
  const records: CounterRecord[] = [];
  for await (const page of pages) records.push(...page);
  for (const r of records) r.users?.sort();
  return records.sort((a, b) => `${a.type}|${a.resourceId}`.localeCompare(`${b.type}|${b.resourceId}`));
}
