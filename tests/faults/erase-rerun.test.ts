// An erasure that fails half way (a script error stops it after some counters) is finished
// by running it again, and ends in the same state as an erasure that never failed: on Redis
// and behind the Upstash endpoint, where a page of the index is one script.

import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CounterStore } from "../../shared/domain/model.ts";
import { collect } from "../contract/store-contract.ts";
import { type Backend, redisBackend, upstashBackend } from "../support/backends.ts";
import type { RedisServer } from "../support/redis-server.ts";

const T0 = Date.parse("2026-11-25T10:15:00Z");
const LIKES = 450; // three pages of the user's index

async function seed(store: CounterStore, user: string): Promise<void> {
  for (let i = 0; i < LIKES; i++) {
    const base = { resourceId: `post_${i}`, type: "like", kind: "unique" as const, delta: 1, now: T0 };
    await store.increment({ ...base, userId: user });
    if (i % 3 === 0) await store.increment({ ...base, userId: "bystander" });
  }
}

/** What an erasure leaves: every counter with its members, and the all-time ranking. */
const stateOf = async (store: CounterStore) => ({
  counters: await collect(store.exportCounters({ members: true })),
  ranking: await store.ranking({ type: "like", period: "all", limit: 1000, now: T0 }),
});

describe.each([
  ["redis", redisBackend],
  ["upstash", upstashBackend],
] as const)("erasing a user on %s", (_name, start) => {
  let backend: Backend & { server: RedisServer };
  beforeAll(async () => {
    backend = await start();
  }, 30_000);
  afterAll(() => backend?.stop());

  it("is finished by a rerun after failing half way, to the state of a clean erasure", async () => {
    const clean = backend.store();
    const broken = backend.store();
    await seed(clean, "leaving");
    await seed(broken, "leaving");
    expect(await clean.eraseUser("leaving", T0)).toBe(LIKES);

    // A counter of the user's that is no set any more: the erasure stops there, with error.
    const direct = new Redis(backend.server.url);
    try {
      const [setKey] = await direct.keys("*:{post_200}:u:like");
      const brokenKey = (setKey as string).replace(/^[^:]+/, (await keyPrefixOf(direct, "post_0")) ?? "");
      await direct.del(brokenKey);
      await direct.set(brokenKey, "not-a-set");
      await expect(broken.eraseUser("leaving", T0)).rejects.toThrow(/WRONGTYPE/);
      await direct.del(brokenKey);
    } finally {
      direct.disconnect();
    }
    // Run again: what was erased stays erased, the rest is erased now.
    const removed = await broken.eraseUser("leaving", T0);
    expect(removed).toBeGreaterThan(0);
    expect(removed).toBeLessThan(LIKES);
    expect(await broken.eraseUser("leaving", T0)).toBe(0);
    const after = await stateOf(broken);
    const expected = await stateOf(clean);
    // post_200 lost its set when it was broken on purpose: compare everything else.
    const without = (s: typeof after) => s.counters.filter((c) => c.resourceId !== "post_200");
    expect(without(after)).toEqual(without(expected));
    expect(after.counters.some((c) => c.users?.includes("leaving"))).toBe(false);
    expect(after.ranking.filter((r) => r.resourceId !== "post_200")).toEqual(
      expected.ranking.filter((r) => r.resourceId !== "post_200"),
    );
  });
});

/** The key prefix of the `broken` store: the one whose post_0 set holds "leaving" and was not erased. */
async function keyPrefixOf(direct: Redis, resource: string): Promise<string | undefined> {
  for (const key of await direct.keys(`*:{${resource}}:u:like`)) {
    if (await direct.sismember(key, "leaving")) return key.split(":")[0];
  }
  return undefined;
}
