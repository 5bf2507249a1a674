import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryStore, DEFAULT_MAX_RECORDS } from "../../shared/stores/memory.ts";
import { type Backend, memoryBackend } from "../support/backends.ts";
import { storeContract } from "./store-contract.ts";

describe("memory store", () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await memoryBackend();
  }, 30_000);
  afterAll(() => backend?.stop());
  storeContract(() => backend);
});

describe("memory store bounds", () => {
  const T0 = Date.parse("2026-11-25T10:15:00Z");
  const view = (i: number) => ({
    resourceId: "flood",
    type: "view",
    kind: "total" as const,
    userId: "u",
    delta: 1,
    now: T0,
    idempotencyKey: `key-${i}`,
  });

  it("keeps at most maxRecords idempotency records, evicting the oldest first", async () => {
    const store = createMemoryStore({ maxRecords: 100 });
    for (let i = 0; i < 150; i++) await store.increment(view(i));
    expect(store.recordCounts.idempotency).toBe(100);
    // The newest 100 still replay; the oldest 50 were evicted and apply again.
    expect((await store.increment(view(149))).replayed).toBe(true);
    expect((await store.increment(view(50))).replayed).toBe(true);
    expect((await store.increment(view(0))).replayed).toBe(false);
  });

  it("keeps at most maxRecords rate-limit windows under a flood of distinct subjects", async () => {
    const store = createMemoryStore({ maxRecords: 100 });
    for (let i = 0; i < 1000; i++)
      await store.limit([{ subject: `ip:10.0.${i >> 8}.${i & 255}`, limit: 5, windowMs: 60_000 }], T0);
    expect(store.recordCounts.windows).toBe(100);
  });

  it("caps 100,000 records of each kind by default", async () => {
    const store = createMemoryStore();
    for (let i = 0; i < 100_050; i++) await store.increment(view(i));
    expect(store.recordCounts.idempotency).toBe(DEFAULT_MAX_RECORDS);
    expect(DEFAULT_MAX_RECORDS).toBe(100_000);
  });
});
