// The typed client against the real app: every call, typed errors, and safe retries.

import { describe, expect, it } from "vitest";
import { createHighPressClient, HighPressError } from "../../shared/client/client.ts";
import { createApp } from "../../shared/http/http-app.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { DEFAULT_TYPES, memoryLogger } from "../support/test-app.ts";

const KEY = "client-test-key-0123456789";

function appFetch(options: { failFirst?: number } = {}) {
  const store = createMemoryStore();
  const app = createApp({
    store,
    counterTypes: DEFAULT_TYPES,
    maxBodyBytes: 65_536,
    apiKeys: [KEY],
    logger: memoryLogger(),
  });
  let calls = 0;
  let failures = options.failFirst ?? 0;
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    calls++;
    const res = await app.fetch(new Request(input, init));
    // After the store applied it, the answer is lost: as a timeout or a 503 would be.
    if (failures > 0) {
      failures--;
      return new Response(JSON.stringify({ error: "Service Unavailable", code: 503, message: "lost" }), {
        status: 503,
        headers: { "content-type": "application/json", "retry-after": "0" },
      });
    }
    return res;
  }) as typeof fetch;
  return { fetchImpl, calls: () => calls };
}

describe("the typed client", () => {
  it("calls every route and returns typed data", async () => {
    const { fetchImpl } = appFetch();
    const client = createHighPressClient({ baseUrl: "http://highpress.test", apiKey: KEY, fetch: fetchImpl });
    const liked = await client.increment({ resource_id: "c1", counter_type: "like", user_id: "u1" });
    expect(liked).toEqual({
      resource_id: "c1",
      counter_type: "like",
      count: 1,
      success: true,
      applied: true,
      replayed: false,
    });
    await client.increment({ resource_id: "c1", counter_type: "view", user_id: "u1", increment: 5 });
    expect(await client.get("c1", "like", { userId: "u1" })).toEqual({
      resource_id: "c1",
      counter_type: "like",
      count: 1,
      member: true,
    });
    expect((await client.get("c1", "view")).unique_users).toBe(1);
    expect(await client.batch([{ resource_id: "c1", counter_type: "view" }])).toEqual([
      { resource_id: "c1", counter_type: "view", count: 5 },
    ]);
    expect((await client.hot("view", { period: "all", limit: 5 })).items).toEqual([
      { resource_id: "c1", count: 5 },
    ]);
    expect(await client.health({ deep: true })).toMatchObject({ status: "ok", store: "memory" });
  });

  it("throws HighPressError with the status, title and details", async () => {
    const { fetchImpl } = appFetch();
    const client = createHighPressClient({ baseUrl: "http://highpress.test", apiKey: KEY, fetch: fetchImpl });
    const error = await client
      .increment({ resource_id: "a b", counter_type: "like", user_id: "u" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HighPressError);
    expect(error).toMatchObject({
      status: 400,
      title: "Invalid request format",
      details: [{ path: "resource_id" }],
    });
    const unauthorised = createHighPressClient({ baseUrl: "http://highpress.test", fetch: fetchImpl });
    await expect(
      unauthorised.increment({ resource_id: "a", counter_type: "like", user_id: "u" }),
    ).rejects.toMatchObject({ status: 401 });
  });

  it("retries a lost answer with the same Idempotency-Key, so the increment applies once", async () => {
    const { fetchImpl, calls } = appFetch({ failFirst: 2 });
    const client = createHighPressClient({
      baseUrl: "http://highpress.test",
      apiKey: KEY,
      fetch: fetchImpl,
      retries: 2,
    });
    const result = await client.increment({
      resource_id: "r1",
      counter_type: "view",
      user_id: "u",
      increment: 7,
    });
    expect(calls()).toBe(3);
    expect(result).toMatchObject({ count: 7, replayed: true });
    expect((await client.get("r1", "view")).count).toBe(7);
  });

  it("gives up after its retries with the last error", async () => {
    const { fetchImpl, calls } = appFetch({ failFirst: 5 });
    const client = createHighPressClient({
      baseUrl: "http://highpress.test",
      apiKey: KEY,
      fetch: fetchImpl,
      retries: 1,
    });
    await expect(
      client.increment({ resource_id: "r2", counter_type: "view", user_id: "u" }),
    ).rejects.toMatchObject({
      status: 503,
      retryAfter: 0,
    });
    expect(calls()).toBe(2);
  });
});
