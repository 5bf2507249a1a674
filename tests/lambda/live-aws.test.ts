// Live counts on AWS, end to end here: the SigV4 signer agrees with AWS's own; the publisher's
// request (signed, the documented body, at most 5 events) is accepted by a local endpoint that
// speaks AppSync Events; WatchFunction's handler on a real Redis relays each interval's latest
// counts; PublishFunction's handler publishes them to each counter's channel.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveChannel } from "../../shared/domain/live-channel.ts";
import { createAppSyncPublisher } from "../../shared/runtime/appsync-publish.ts";
import { createLivePublisher, createLiveWatcher } from "../../shared/runtime/live-functions.ts";
import type { LiveMessage } from "../../shared/runtime/live-relay.ts";
import { signRequest } from "../../shared/runtime/sigv4.ts";
import { createRedisClient, createRedisStore } from "../../shared/stores/redis.ts";
import { type AppSyncEndpoint, referenceSigner, startAppSyncEndpoint } from "../support/appsync-endpoint.ts";
import { randomPrefix } from "../support/backends.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { memoryLogger } from "../support/test-app.ts";

const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "token/+=",
};
const REGION = "eu-west-1";

let redis: RedisServer;
let appsync: AppSyncEndpoint;
beforeAll(async () => {
  redis = await startRedis();
  appsync = await startAppSyncEndpoint({ credentials: CREDENTIALS, region: REGION });
}, 30_000);
afterAll(async () => {
  await appsync.close();
  await redis.stop();
});

describe("the SigV4 signer", () => {
  it("signs as AWS's own signer (@smithy/signature-v4) does", async () => {
    const at = Date.parse("2026-12-06T10:15:30Z");
    for (const [url, body, token] of [
      [
        "https://abc.appsync-api.eu-west-1.amazonaws.com/event",
        '{"channel":"/counters/view/a","events":["{}"]}',
        true,
      ],
      ["https://abc.appsync-api.eu-west-1.amazonaws.com/event?b=2&a=1 2", "", false],
    ] as const) {
      const parsed = new URL(url);
      const credentials = token ? CREDENTIALS : { ...CREDENTIALS, sessionToken: undefined };
      const ours = signRequest(
        { method: "POST", url: parsed, headers: { "content-type": "application/json" }, body },
        REGION,
        "appsync",
        credentials,
        at,
      );
      const theirs = await referenceSigner(credentials, REGION).sign(
        {
          method: "POST",
          protocol: "https:",
          hostname: parsed.hostname,
          path: parsed.pathname,
          query: Object.fromEntries(parsed.searchParams),
          headers: { "content-type": "application/json", host: parsed.host },
          body,
        },
        { signingDate: new Date(at) },
      );
      expect(ours.authorization).toBe(theirs.headers.authorization);
      expect(ours["x-amz-date"]).toBe("20261206T101530Z");
    }
  });
});

describe("the publisher", () => {
  const publisher = () =>
    createAppSyncPublisher({
      endpoint: appsync.httpUrl,
      region: REGION,
      credentials: () => CREDENTIALS,
      timeoutMs: 2000,
    });

  it("publishes a channel's events signed, at most 5 a request", async () => {
    const before = appsync.published.length;
    const events = Array.from({ length: 7 }, (_, i) => JSON.stringify({ count: i }));
    await publisher()("/counters/view/p1", events);
    expect(appsync.published.slice(before)).toEqual([
      { channel: "/counters/view/p1", events: events.slice(0, 5) },
      { channel: "/counters/view/p1", events: events.slice(5) },
    ]);
  });

  it("fails, naming the status, when the signature is refused", async () => {
    const wrong = createAppSyncPublisher({
      endpoint: appsync.httpUrl,
      region: REGION,
      credentials: () => ({ ...CREDENTIALS, secretAccessKey: "not-the-key" }),
      timeoutMs: 2000,
    });
    const refused = appsync.refused;
    await expect(wrong("/counters/view/p1", ["{}"])).rejects.toThrow(/answered 401/);
    expect(appsync.refused).toBe(refused + 1);
  });
});

describe("WatchFunction and PublishFunction", () => {
  it("relay a minute's changes from Redis to each counter's channel, the latest count each interval", async () => {
    const prefix = randomPrefix();
    const client = createRedisClient(redis.url, false, 2000);
    const store = createRedisStore(client, { keyPrefix: prefix, timeoutMs: 2000 });
    const messages: LiveMessage[] = [];
    const env = { REDIS_URL: redis.url, KEY_PREFIX: prefix, LIVE_INTERVAL_MS: "100", LOG_LEVEL: "error" };
    const watch = createLiveWatcher({
      env,
      logger: memoryLogger(),
      send: async (m) => void messages.push(m),
    });
    // 5.6 s left: the watch lasts 0.6 s (it stops 5 s before the deadline).
    const watching = watch({}, { getRemainingTimeInMillis: () => 5600 });
    await new Promise((r) => setTimeout(r, 150));
    const view = (resourceId: string, delta: number) =>
      store.increment({ resourceId, type: "view", kind: "total", userId: "u", delta, now: Date.now() });
    for (let i = 0; i < 20; i++) await view("w_1", 1);
    await view("w:2", 5);
    const sent = await watching;
    expect(sent.messages).toBeGreaterThan(0);
    const latest = new Map(
      messages.flatMap((m) => m.changes.map((c) => [`${c.type}/${c.resource_id}`, c.count])),
    );
    expect(latest).toEqual(
      new Map([
        ["view/w_1", 20],
        ["view/w:2", 5],
      ]),
    );
    // Fewer counts went out than changes happened: coalesced per interval.
    expect(messages.reduce((n, m) => n + m.changes.length, 0)).toBeLessThan(21);

    const publisherEnv = {
      LIVE_EVENTS_ENDPOINT: appsync.httpUrl,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
    };
    const logger = memoryLogger();
    const publishFn = createLivePublisher({ env: publisherEnv, logger });
    const record = (body: string, i: number) => ({ messageId: `m${i}`, body, eventSource: "aws:sqs" });
    const before = appsync.published.length;
    const answer = await publishFn({
      Records: [...messages.map((m, i) => record(JSON.stringify(m), i)), record("junk", 99)],
    });
    expect(answer).toEqual({ batchItemFailures: [] });
    const published = appsync.published.slice(before);
    expect(published).toEqual(
      expect.arrayContaining([
        { channel: await liveChannel("view", "w_1"), events: ['{"count":20}'] },
        { channel: await liveChannel("view", "w:2"), events: ['{"count":5}'] },
      ]),
    );
    expect(published).toHaveLength(2);
    expect(logger.lines.some((l) => l.msg === "unreadable live counts message")).toBe(true);
    await expect(publishFn({ hello: 1 })).rejects.toThrow(/SQS events/);
    await store.close();
  }, 30_000);
});
