// The typed client's live(): over the local server's Server-Sent Events (the app itself),
// reconnecting when the server ends the stream; and over AWS AppSync Events' WebSocket
// protocol, against a local endpoint that follows it (tests/support/appsync-endpoint.ts).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHighPressClient } from "../../shared/client/client.ts";
import { liveChannel } from "../../shared/domain/live-channel.ts";
import { createApp } from "../../shared/http/app.ts";
import { sendingTo } from "../../shared/http/http-app.ts";
import { LiveStreams } from "../../shared/http/live-streams.ts";
import { createAppSyncPublisher } from "../../shared/runtime/appsync-publish.ts";
import { createMemoryEventQueue, createMemoryStore } from "../../shared/stores/memory.ts";
import { type AppSyncEndpoint, startAppSyncEndpoint } from "../support/appsync-endpoint.ts";
import { DEFAULT_TYPES, memoryLogger } from "../support/test-app.ts";

const KEY = "client-live-key-0123456789";

/** Waits until `check` holds (5 s at most). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe("live() on the local server", () => {
  it("follows a counter under READ_AUTH, and reconnects when the server ends the stream", async () => {
    const store = createMemoryStore();
    const live = new LiveStreams(store.changes, { intervalMs: 1 });
    const app = createApp({
      store,
      eventQueue: sendingTo(createMemoryEventQueue()),
      counterTypes: DEFAULT_TYPES,
      maxBodyBytes: 65_536,
      apiKeys: [KEY],
      readAuth: true,
      logger: memoryLogger(),
      live,
    });
    const fetchImpl = ((input: RequestInfo | URL, init?: RequestInit) =>
      app.fetch(new Request(input, init))) as typeof fetch;
    const client = createHighPressClient({ baseUrl: "http://hp.test", apiKey: KEY, fetch: fetchImpl });
    const counts: number[] = [];
    const sub = client.live("c1", "view", (count) => counts.push(count));
    await sub.ready;
    expect(counts).toEqual([0]);
    await client.increment({ resource_id: "c1", counter_type: "view", user_id: "u", increment: 3 });
    await until(() => counts.length === 2);
    expect(counts).toEqual([0, 3]);
    // The server drains: the stream ends, the client comes back after the stream's retry (3 s).
    live.endAll();
    await client.increment({ resource_id: "c1", counter_type: "view", user_id: "u", increment: 4 });
    await until(() => counts.includes(7));
    expect(counts.at(-1)).toBe(7);
    sub.close();
    await until(() => live.holdings().streams === 0);
    expect(live.holdings().streams).toBe(0);

    const anonymous = createHighPressClient({ baseUrl: "http://hp.test", fetch: fetchImpl });
    const refused = anonymous.live("c1", "view", () => {});
    await expect(refused.ready).rejects.toThrow(/answered 401/);
    refused.close();
  }, 15_000);
});

describe("live() on AWS AppSync Events", () => {
  const credentials = { accessKeyId: "AKIDLIVE", secretAccessKey: "secret-live" };
  let appsync: AppSyncEndpoint;
  beforeAll(async () => {
    appsync = await startAppSyncEndpoint({ credentials, region: "us-east-1" });
  });
  afterAll(() => appsync.close());

  it("subscribes to the counter's channel, hears each publish, and unsubscribes on close", async () => {
    const client = createHighPressClient({
      baseUrl: "https://unused.example",
      appsync: { realtimeUrl: appsync.realtimeUrl, httpHost: appsync.host, apiKey: appsync.apiKey },
    });
    const counts: number[] = [];
    const sub = client.live("article_001", "like", (count) => counts.push(count));
    await sub.ready;
    const channel = await liveChannel("like", "article_001");
    expect(appsync.subscriptions()).toEqual([channel]);
    const publish = createAppSyncPublisher({
      endpoint: appsync.httpUrl,
      region: "us-east-1",
      credentials: () => credentials,
      timeoutMs: 2000,
    });
    await publish(channel, ['{"count":41}']);
    await publish(await liveChannel("like", "article_002"), ['{"count":1}']);
    await publish(channel, ['{"count":42}']);
    await until(() => counts.length === 2);
    expect(counts).toEqual([41, 42]);
    sub.close();
    await until(() => appsync.subscriptions().length === 0);
    expect(appsync.subscriptions()).toEqual([]);
  });

  it("rejects ready when the key is refused", async () => {
    const client = createHighPressClient({
      baseUrl: "https://unused.example",
      appsync: { realtimeUrl: appsync.realtimeUrl, httpHost: appsync.host, apiKey: "da2-wrong" },
    });
    const sub = client.live("article_001", "like", () => {});
    await expect(sub.ready).rejects.toThrow();
    sub.close();
  });
});
