// The store contract for live counts: every write path announces a counter's new count on the
// store's change feed (on Redis and Upstash, in the write's own script, heard over pub/sub),
// a write that changed nothing announces nothing, and a watch that stopped hears no more.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CounterChange, Unwatch } from "../../shared/domain/live.ts";
import type { CounterKey, CounterStore, IncrementCommand } from "../../shared/domain/model.ts";
import type { Backend } from "../support/backends.ts";

const T0 = Date.parse("2026-12-06T10:00:00Z");
const view = (
  resourceId: string,
  delta: number,
  extra: Partial<IncrementCommand> = {},
): IncrementCommand => ({
  resourceId,
  type: "view",
  kind: "total",
  userId: "u1",
  delta,
  now: T0,
  ...extra,
});
const like = (resourceId: string, userId: string, delta = 1): IncrementCommand => ({
  resourceId,
  type: "like",
  kind: "unique",
  userId,
  delta,
  now: T0,
});
const V = (resourceId: string): CounterKey => ({ resourceId, type: "view", kind: "total" });
const L = (resourceId: string): CounterKey => ({ resourceId, type: "like", kind: "unique" });

/** The counts heard so far, and a wait for the n-th (2 s at most: pub/sub is asynchronous). */
function recorder() {
  const heard: number[] = [];
  let wake: (() => void) | undefined;
  const onCount = (count: number) => {
    heard.push(count);
    wake?.();
  };
  const until = async (n: number): Promise<number[]> => {
    const deadline = Date.now() + 2000;
    while (heard.length < n && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return [...heard];
  };
  return { heard, onCount, until };
}

export function liveContract(backend: () => Backend): void {
  describe("live counts: the change feed", () => {
    let store: CounterStore;
    const stops: Unwatch[] = [];
    beforeAll(() => {
      store = backend().store();
    });
    afterEach(() => {
      for (const stop of stops.splice(0)) stop();
    });
    const watch = async (counter: CounterKey) => {
      const r = recorder();
      stops.push(await store.changes.watch(counter, r.onCount));
      return r;
    };

    it("announces each increment's new count, single and batch, and nothing for other counters", async () => {
      const r = await watch(V("lv1"));
      await store.increment(view("lv1", 5));
      await store.increment(view("other", 7));
      await store.incrementMany([view("lv1", 2), view("lv1", 3)], [], T0);
      expect(await r.until(3)).toEqual([5, 7, 10]);
    });

    it("announces a like and an unlike, and nothing for a like that changed nothing or a replay", async () => {
      const r = await watch(L("lv2"));
      await store.increment(like("lv2", "a"));
      await store.increment(like("lv2", "a")); // liked already: no change
      await store.increment(view("lv2", 1, { idempotencyKey: "k1" }));
      await store.increment(like("lv2", "b"));
      await store.increment(like("lv2", "a", -1));
      expect(await r.until(3)).toEqual([1, 2, 1]);
      const v = await watch(V("lv2"));
      await store.increment(view("lv2", 1, { idempotencyKey: "k1" })); // a replay
      await store.increment(view("lv2", 4));
      expect(await v.until(1)).toEqual([5]);
    });

    it("announces queued events once per call (their net), and admin set, reset, erasure and import", async () => {
      const v = await watch(V("lv3"));
      const l = await watch(L("lv3"));
      const event = (id: string, delta: number) => ({ ...view("lv3", delta), eventId: id });
      await store.applyEvents([event("e1", 2), event("e2", 3)], T0);
      await store.applyEvents([event("e1", 2)], T0); // seen: nothing new
      await store.setCount(V("lv3"), 40, T0);
      await store.reset(V("lv3"), T0);
      await store.importCounters([{ ...V("lv3"), count: 9 }], T0);
      expect(await v.until(4)).toEqual([5, 40, 0, 9]);
      await store.increment(like("lv3", "gone"));
      await store.increment(like("lv3", "stays"));
      expect(await store.eraseUser("gone", T0)).toBe(1);
      expect(await l.until(3)).toEqual([1, 2, 1]);
    });

    it("hears nothing after the watch stops", async () => {
      const r = recorder();
      const stop = await store.changes.watch(V("lv4"), r.onCount);
      await store.increment(view("lv4", 1));
      expect(await r.until(1)).toEqual([1]);
      stop();
      stop(); // twice is harmless
      const after = await watch(V("lv4"));
      await store.increment(view("lv4", 1));
      expect(await after.until(1)).toEqual([2]);
      expect(r.heard).toEqual([1]);
    });

    it("lets a listener that throws fail neither the write nor the other listeners", async () => {
      stops.push(
        await store.changes.watch(V("lv6"), () => {
          throw new Error("a broken viewer");
        }),
      );
      const r = await watch(V("lv6"));
      expect((await store.increment(view("lv6", 2))).count).toBe(2);
      expect(await r.until(1)).toEqual([2]);
    });

    it("hears every counter with watchAll, named by resource, type and kind", async () => {
      const all: CounterChange[] = [];
      stops.push(await store.changes.watchAll((change) => all.push(change)));
      await store.increment(view("lv5", 3));
      await store.increment(like("lv5", "a"));
      const deadline = Date.now() + 2000;
      while (all.filter((c) => c.resourceId === "lv5").length < 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(all.filter((c) => c.resourceId === "lv5")).toEqual([
        { resourceId: "lv5", type: "view", kind: "total", count: 3 },
        { resourceId: "lv5", type: "like", kind: "unique", count: 1 },
      ]);
    });
  });
}
