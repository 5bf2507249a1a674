// The typed client against the real app: every call, typed errors, and safe retries.

import { describe, expect, it } from "vitest";
import { createHighPressClient, HighPressError } from "../../shared/client/client.ts";
import { createApp } from "../../shared/http/app.ts";
import { sendingTo } from "../../shared/http/http-app.ts";
import { createMemoryEventQueue, createMemoryStore } from "../../shared/stores/memory.ts";
import { DEFAULT_TYPES, memoryLogger } from "../support/test-app.ts";

const KEY = "client-test-key-0123456789";
const ADMIN_KEY = "client-admin-key-0123456789";

function appFetch(options: { failFirst?: number } = {}) {
  const store = createMemoryStore();
  const app = createApp({
    store,
    eventQueue: sendingTo(createMemoryEventQueue()),
    counterTypes: DEFAULT_TYPES,
    maxBodyBytes: 65_536,
    apiKeys: [KEY],
    adminKeys: [ADMIN_KEY],
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

describe("the typed client's admin part and badges", () => {
  it("sets, resets and erases with the admin key, and refuses without it", async () => {
    const { fetchImpl } = appFetch();
    const base = { baseUrl: "http://hp.test", fetch: fetchImpl, apiKey: KEY };
    const admin = createHighPressClient({ ...base, adminKey: ADMIN_KEY });
    expect(await admin.admin.setCount("c1", "view", 5000)).toEqual({
      resource_id: "c1",
      counter_type: "view",
      count: 5000,
      unique_users: 0,
    });
    await admin.increment({ resource_id: "c1", counter_type: "like", user_id: "u1" });
    expect((await admin.admin.eraseUser("u1")).removed).toBe(1);
    expect((await admin.admin.reset("c1", "view")).count).toBe(0);
    // A client without adminKey does not send its write key to the admin routes.
    const writer = createHighPressClient(base);
    const refused = await writer.admin.reset("c1", "view").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HighPressError);
    expect((refused as HighPressError).status).toBe(401);
    const misused = createHighPressClient({ ...base, adminKey: KEY });
    expect(
      ((await misused.admin.reset("c1", "view").catch((e: unknown) => e)) as HighPressError).status,
    ).toBe(403);
  });

  it("builds a badge URL that the server answers with an SVG", async () => {
    const { fetchImpl } = appFetch();
    const client = createHighPressClient({ baseUrl: "http://hp.test/", fetch: fetchImpl });
    const url = client.badgeUrl("post 1", "like", { label: "likes & more", color: "green" });
    expect(url).toBe(
      "http://hp.test/api/v1/counter/post%201/like/badge.svg?label=likes+%26+more&color=green",
    );
    const ok = await fetchImpl(client.badgeUrl("post_1", "like", { label: "likes & more" }));
    expect(ok.headers.get("content-type")).toBe("image/svg+xml");
    expect(await ok.text()).toContain(">likes &amp; more<");
  });
});

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
    const history = await client.history("c1", "view", { days: 2 });
    expect([history.count, history.days.length, history.days[1]?.delta]).toEqual([5, 2, 5]);
    expect(history.days[1]?.date).toBe(new Date().toISOString().slice(0, 10));
    expect((await client.history("c1", "like")).days).toHaveLength(30);
    const svg = await fetchImpl(client.historyUrl("c1", "view", { days: 7 }));
    expect(svg.headers.get("content-type")).toBe("image/svg+xml");
    expect(await svg.text()).toContain("<title>view of c1: +5 in 7 days</title>");
    expect(client.historyUrl("post 1", "like")).toBe(
      "http://highpress.test/api/v1/counter/post%201/like/history.svg",
    );
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
