// The store contract for per-day history: every write path records its day in the same call
// as the count (single, batch, queued events at the day they were accepted, admin set,
// reset, erasure), replays record nothing, and a counter keeps at most HISTORY_DAYS days.
// Days come from each command's clock: none is waited for.

import { beforeAll, describe, expect, it } from "vitest";
import type { CounterHistory } from "../../shared/domain/history.ts";
import type { CounterKey, CounterStore, IncrementCommand, QueuedEvent } from "../../shared/domain/model.ts";
import type { Backend } from "../support/backends.ts";
import { collect, like } from "./store-contract.ts";

const DAY = 24 * 3_600_000;
const D0 = Date.parse("2026-12-01T23:59:30Z");
const day = (n: number) => D0 + n * DAY;

const view = (resourceId: string, delta: number, now: number, extra: Partial<IncrementCommand> = {}) => ({
  resourceId,
  type: "view",
  kind: "total" as const,
  userId: "u1",
  delta,
  now,
  ...extra,
});
type Counter = Omit<CounterKey, "resourceId">;
const V: Counter = { type: "view", kind: "total" };
const L: Counter = { type: "like", kind: "unique" };

/** A history as `date:delta` strings, the count first. */
const shown = (h: CounterHistory) => [h.count, ...h.days.map((d) => `${d.date.slice(5)}:${d.delta}`)];

export function historyContract(backend: () => Backend): void {
  describe("per-day history", () => {
    let store: CounterStore;
    beforeAll(() => {
      store = backend().store();
    });
    const history = (resourceId: string, days: number, now: number, counter = V) =>
      store.history({ resourceId, ...counter, days, now }).then(shown);

    it("records each UTC day's net change, days without one 0, oldest first, ending today", async () => {
      await store.increment(view("h1", 5, day(0)));
      // 30 s later is the next UTC day.
      await store.increment(view("h1", 3, day(0) + 31_000));
      await store.increment(view("h1", 2, day(2)));
      expect(await history("h1", 5, day(3))).toEqual([
        10,
        "11-30:0",
        "12-01:5",
        "12-02:3",
        "12-03:2",
        "12-04:0",
      ]);
      expect(await history("h1", 1, day(2))).toEqual([10, "12-03:2"]);
      expect(await history("never", 2, day(2))).toEqual([0, "12-02:0", "12-03:0"]);
    });

    it("nets a like and an unlike of one day to 0, and records nothing that changed nothing", async () => {
      await store.increment(like("h2", "a", 1, day(0)));
      await store.increment(like("h2", "a", 1, day(0))); // a like again: no change
      await store.increment(like("h2", "b", 1, day(1)));
      await store.increment(like("h2", "b", -1, day(1)));
      await store.increment(like("h2", "c", -1, day(1))); // never liked: no change
      expect(await history("h2", 2, day(1), L)).toEqual([1, "12-01:1", "12-02:0"]);
    });

    it("records nothing for a replayed Idempotency-Key", async () => {
      const keyed = view("h3", 4, day(0), { idempotencyKey: "k1" });
      await store.increment(keyed);
      expect((await store.increment(keyed)).replayed).toBe(true);
      const batch = [view("h3", 1, day(0)), like("h3", "a", 1, day(0))];
      await store.incrementMany(batch, [], day(0), "b1");
      await store.incrementMany(batch, [], day(0), "b1");
      expect(await history("h3", 1, day(0))).toEqual([5, "12-01:5"]);
      expect(await history("h3", 1, day(0), L)).toEqual([1, "12-01:1"]);
    });

    it("records queued events on the day they were accepted, each id once", async () => {
      const ev = (id: string, delta: number, acceptedAt: number): QueuedEvent => ({
        eventId: id,
        resourceId: "h4",
        ...V,
        userId: "u1",
        delta,
        acceptedAt,
      });
      const events = [ev("e1", 2, day(0)), ev("e2", 3, day(1)), ev("e1", 2, day(0))];
      expect(await store.applyEvents(events, day(1))).toBe(2);
      expect(await store.applyEvents([ev("e2", 3, day(1))], day(1))).toBe(0);
      const likes = [
        { ...ev("l1", 1, day(1)), ...L, userId: "a" },
        { ...ev("l2", -1, day(1)), ...L, userId: "a" },
        { ...ev("l3", 1, day(1)), ...L, userId: "b" },
      ];
      expect(await store.applyEvents(likes, day(1))).toBe(3);
      expect(await history("h4", 2, day(1))).toEqual([5, "12-01:2", "12-02:3"]);
      expect(await history("h4", 2, day(1), L)).toEqual([1, "12-01:0", "12-02:1"]);
    });

    it("records an admin set's difference, an erasure as today's unlike, and clears on reset", async () => {
      await store.increment(view("h5", 10, day(0)));
      await store.setCount({ resourceId: "h5", ...V }, 4, day(1));
      await store.setCount({ resourceId: "h5", ...V }, 4, day(1));
      expect(await history("h5", 2, day(1))).toEqual([4, "12-01:10", "12-02:-6"]);
      await store.increment(like("h5", "gone", 1, day(0)));
      await store.increment(like("h5", "stays", 1, day(0)));
      expect(await store.eraseUser("gone", day(2))).toBe(1);
      expect(await history("h5", 3, day(2), L)).toEqual([1, "12-01:2", "12-02:0", "12-03:-1"]);
      await store.reset({ resourceId: "h5", ...V }, day(2));
      expect(await history("h5", 3, day(2))).toEqual([0, "12-01:0", "12-02:0", "12-03:0"]);
      await store.increment(view("h5", 1, day(2)));
      expect(await history("h5", 1, day(2))).toEqual([1, "12-03:1"]);
    });

    it("keeps at most HISTORY_DAYS days of a counter, dropping the oldest as it is written", async () => {
      const s = backend().store({ historyDays: 3 });
      for (let n = 0; n < 6; n++) await s.increment(view("h6", n + 1, day(n)));
      const [record] = await collect(s.exportCounters({ members: false }));
      expect([...(record?.history ?? new Map())]).toEqual([
        [20261204, 4],
        [20261205, 5],
        [20261206, 6],
      ]);
      expect(await s.history({ resourceId: "h6", ...V, days: 4, now: day(5) }).then(shown)).toEqual([
        21,
        "12-03:0",
        "12-04:4",
        "12-05:5",
        "12-06:6",
      ]);
    });

    it("goes out with export and comes back with import; a line without history keeps the store's", async () => {
      const from = backend().store();
      await from.increment(view("h7", 2, day(0)));
      await from.increment(view("h7", 5, day(1)));
      await from.increment(like("h7", "a", 1, day(1)));
      const exported = await collect(from.exportCounters({ members: true }));
      const to = backend().store();
      await to.increment(view("h8", 9, day(0)));
      await to.importCounters(exported, day(3));
      await to.importCounters([{ resourceId: "h8", ...V, count: 9 }], day(3));
      expect(await collect(to.exportCounters({ members: true }))).toEqual(
        await collect(from.exportCounters({ members: true }))
          .then((r) => [...r, { resourceId: "h8", ...V, count: 9, history: new Map([[20261201, 9]]) }])
          .then((r) =>
            r.sort((a, b) => `${a.type}|${a.resourceId}`.localeCompare(`${b.type}|${b.resourceId}`)),
          ),
      );
      const h = (to: CounterStore, counter = V) =>
        to.history({ resourceId: "h7", ...counter, days: 2, now: day(1) }).then(shown);
      expect(await h(to)).toEqual([7, "12-01:2", "12-02:5"]);
      expect(await h(to, L)).toEqual([1, "12-01:0", "12-02:1"]);
    });
  });
}
