// Queued events, POST /api/v1/counter/events: validated like a batch of increments, given
// ids, queued (the store's own queue here, SQS through the AWS SDK against a local endpoint
// on Lambda), answered 202, and counted by the consumer exactly once.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHighPressClient } from "../../shared/client/client.ts";
import { decodeEvents } from "../../shared/domain/events.ts";
import { ALL_HANDLERS } from "../../shared/http/app.ts";
import { startLocalConsumer } from "../../shared/runtime/events-consumer.ts";
import { createLambdaHandler } from "../../shared/runtime/lambda.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { apiGatewayEvent, lambdaContext } from "../support/apigw.ts";
import { type SqsEndpoint, startSqsEndpoint } from "../support/sqs-endpoint.ts";
import { json, lossyFetch, memoryLogger, testApp } from "../support/test-app.ts";

const path = "/api/v1/counter/events";
const view = (resource_id: string, extra: Record<string, unknown> = {}) => ({
  resource_id,
  counter_type: "view",
  user_id: "u1",
  ...extra,
});

describe("POST /api/v1/counter/events", () => {
  it("answers 202 with how many were queued, before they are counted", async () => {
    const store = createMemoryStore();
    const t = testApp(store);
    const res = await t.post(path, { events: [view("a", { event_id: "e-1" }), view("a"), view("b")] });
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ success: true, data: { accepted: 3 } });
    expect((await json(await t.get("/api/v1/counter/a/view"))).data.count).toBe(0);
    const [message] = await t.queue.peek(10);
    const events = decodeEvents(message as string);
    expect(events.map((e) => e.eventId.replace(/[0-9a-f-]{36}$/, "<uuid>"))).toEqual([
      "e-1",
      "auto:<uuid>",
      "auto:<uuid>",
    ]);
  });

  it("names each bad event by index, event_id included, and queues nothing", async () => {
    const store = createMemoryStore();
    const t = testApp(store);
    const res = await t.post(path, {
      events: [view("ok"), view("a b"), view("ok", { event_id: "" }), view("ok", { event_id: 7 })],
    });
    expect(res.status).toBe(400);
    expect((await json(res)).details.map((d: { path: string }) => d.path)).toEqual([
      "events[1].resource_id",
      "events[2].event_id",
      "events[3].event_id",
    ]);
    expect(await t.queue.peek(10)).toEqual([]);
    expect((await t.post(path, { events: [] })).status).toBe(400);
  });

  it("are counted once by the consumer, also when a POST is retried with its Idempotency-Key", async () => {
    const store = createMemoryStore();
    const t = testApp(store);
    const consumer = startLocalConsumer(store, t.queue, memoryLogger(), { intervalMs: 10 });
    try {
      const body = { events: [view("k"), view("k", { user_id: "u2" })] };
      for (let i = 0; i < 3; i++)
        expect((await t.post(path, body, { "idempotency-key": "post-1" })).status).toBe(202);
      await t.post(path, { events: [view("k", { event_id: "own" }), view("k", { event_id: "own" })] });
      for (let i = 0; i < 200 && (await t.queue.peek(1)).length > 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      const read = await json(await t.get("/api/v1/counter/k/view"));
      expect(read.data).toMatchObject({ count: 3, unique_users: 2 });
    } finally {
      await consumer.stop();
    }
  });

  it("waiting in the queue when the server stops are applied by the consumer's flush, not left behind", async () => {
    const store = createMemoryStore();
    const t = testApp(store);
    // A long interval: the loop takes nothing before the flush does.
    const consumer = startLocalConsumer(store, t.queue, memoryLogger(), { intervalMs: 60_000 });
    const events = Array.from({ length: 500 }, (_, i) => view("f", { user_id: `u${i}`, event_id: `f${i}` }));
    for (let start = 0; start < events.length; start += 2)
      expect((await t.post(path, { events: events.slice(start, start + 2) })).status).toBe(202);
    // 250 messages; a pass takes up to 200, so the flush makes passes until one sees the whole queue.
    expect(await consumer.flush(Date.now() + 10_000)).toBe(true);
    expect(await t.queue.peek(10)).toEqual([]);
    expect((await json(await t.get("/api/v1/counter/f/view"))).data.count).toBe(500);
    // Past its deadline a flush applies nothing more and says so.
    await t.post(path, { events: [view("g")] });
    expect(await consumer.flush(Date.now() - 1)).toBe(false);
    expect(await t.queue.peek(10)).toHaveLength(1);
  });

  it("refuse an Idempotency-Key reused with other events (422), and an event_id shaped as the service's own (400)", async () => {
    const store = createMemoryStore();
    const t = testApp(store);
    const body = { events: [view("q"), view("q", { user_id: "u2" })] };
    expect((await t.post(path, body, { "idempotency-key": "post-2" })).status).toBe(202);
    for (const other of [
      { events: [view("q")] },
      { events: [...body.events, view("q")] },
      { events: [view("r")] },
    ]) {
      const reused = await t.post(path, other, { "idempotency-key": "post-2" });
      expect(reused.status).toBe(422);
      expect((await json(reused)).message).toMatch(
        /^Idempotency-Key: this key was already used with a different request/,
      );
    }
    expect(await t.queue.peek(10)).toHaveLength(1);
    // The ids the service gives events: a client's may not take their shape.
    for (const event_id of ["idem:post-2#0", "auto:0b7e0f4c-4d8e-4a4e-9d0e-2c1f7d3e9a11"]) {
      const res = await t.post(path, { events: [view("q", { event_id })] });
      expect(res.status).toBe(400);
      expect((await json(res)).details[0].path).toBe("events[0].event_id");
    }
    expect(await t.queue.peek(10)).toHaveLength(1);
  });

  it("are in the typed client, retried under one Idempotency-Key and so counted once", async () => {
    const store = createMemoryStore();
    const t = testApp(store);
    const client = createHighPressClient({ baseUrl: "http://hp.test", fetch: lossyFetch(t.app) });
    expect(await client.queueEvents([view("c1"), view("c1", { user_id: "u2" })])).toEqual({ accepted: 2 });
    const messages = await t.queue.peek(10);
    expect(messages).toHaveLength(2); // the lost answer's POST, and its retry
    const consumer = startLocalConsumer(store, t.queue, memoryLogger(), { intervalMs: 10 });
    try {
      for (let i = 0; i < 200 && (await t.queue.peek(1)).length > 0; i++)
        await new Promise((r) => setTimeout(r, 10));
    } finally {
      await consumer.stop();
    }
    expect((await json(await t.get("/api/v1/counter/c1/view"))).data.count).toBe(2);
  });

  it("never let a counter that keeps failing block the rest: retried, then dropped and logged", async () => {
    const store = createMemoryStore();
    const t = testApp(store);
    await store.setCount(
      { resourceId: "full", type: "view", kind: "total" },
      Number.MAX_SAFE_INTEGER,
      Date.now(),
    );
    await t.post(path, { events: [view("full")] });
    await t.post(path, { events: [view("fine")] });
    const logger = memoryLogger();
    const consumer = startLocalConsumer(store, t.queue, logger, { intervalMs: 5 });
    try {
      for (let i = 0; i < 400 && (await t.queue.peek(1)).length > 0; i++)
        await new Promise((r) => setTimeout(r, 10));
    } finally {
      await consumer.stop();
    }
    expect((await json(await t.get("/api/v1/counter/fine/view"))).data.count).toBe(1);
    expect((await json(await t.get("/api/v1/counter/full/view"))).data.count).toBe(Number.MAX_SAFE_INTEGER);
    expect(logger.lines.filter((l) => l.msg === "queued events not applied yet; retrying")).toHaveLength(4);
    const dropped = logger.lines.find((l) => l.msg === "queued events dropped after repeated failures");
    expect(String(dropped?.message)).toContain('"r":"full"');
  });

  it("forget a message once it applies after failing (no retry state kept for it)", async () => {
    const store = createMemoryStore();
    const t = testApp(store);
    const full = { resourceId: "later", type: "view", kind: "total" as const };
    await store.setCount(full, Number.MAX_SAFE_INTEGER, Date.now());
    await t.post(path, { events: [view("later")] });
    const logger = memoryLogger();
    const consumer = startLocalConsumer(store, t.queue, logger, { intervalMs: 50 });
    try {
      for (let i = 0; i < 200 && consumer.retrying() === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(consumer.retrying()).toBe(1);
      // The counter is reset before the message runs out of tries: the event now applies.
      await store.reset(full, Date.now());
      for (let i = 0; i < 400 && (await t.queue.peek(1)).length > 0; i++)
        await new Promise((r) => setTimeout(r, 5));
    } finally {
      await consumer.stop();
    }
    expect((await json(await t.get("/api/v1/counter/later/view"))).data.count).toBe(1);
    expect(consumer.retrying()).toBe(0);
    expect(logger.lines.some((l) => l.msg === "queued events dropped after repeated failures")).toBe(false);
  });

  it("require a write key and count against the rate limits like increments", async () => {
    const key = "events-key-0123456789";
    const t = testApp(createMemoryStore(), {
      apiKeys: [key],
      rateLimits: { user: { limit: 2, windowMs: 60_000 } },
    });
    expect((await t.post(path, { events: [view("x")] })).status).toBe(401);
    const auth = { authorization: `Bearer ${key}` };
    // Three events of one user never fit a limit of 2: a 400 naming the third.
    const three = { events: [view("x"), view("y"), view("z")] };
    const impossible = await t.post(path, three, auth);
    expect(impossible.status).toBe(400);
    expect((await json(impossible)).details[0].path).toBe("events[2].user_id");
    expect((await t.post(path, { events: [view("x"), view("y")] }, auth)).status).toBe(202);
    // The window is full now: the next one waits.
    expect((await t.post(path, { events: [view("w")] }, auth)).status).toBe(429);
  });
});

describe("EventsFunction on Lambda, sending to SQS", () => {
  let sqs: SqsEndpoint;
  const saved = { ...process.env };
  beforeAll(async () => {
    sqs = await startSqsEndpoint();
    Object.assign(process.env, sqs.sdkEnv);
  });
  afterAll(async () => {
    for (const name of Object.keys(sqs.sdkEnv)) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await sqs.close();
  });

  it("sends one message per POST and answers 202; an SQS outage is a 503 that may have queued", async () => {
    const handler = createLambdaHandler("EventsFunction", ALL_HANDLERS, {
      env: { EVENTS_QUEUE_URL: sqs.queueUrl, STORE_TIMEOUT_MS: "2000" },
      logger: memoryLogger(),
      emit: () => {},
    });
    const post = async () =>
      handler(
        apiGatewayEvent({
          method: "POST",
          path,
          body: { events: [view("s1", { event_id: "sqs-1" }), view("s2")] },
        }),
        lambdaContext(),
      );
    const ok = await post();
    expect(ok.statusCode).toBe(202);
    expect(sqs.messages).toHaveLength(1);
    expect(decodeEvents(sqs.messages[0]?.body as string).map((e) => e.resourceId)).toEqual(["s1", "s2"]);
    sqs.failNext(2);
    const down = await post();
    expect(down.statusCode).toBe(503);
    expect(JSON.parse(down.body)).toMatchObject({ code: 503, may_have_applied: true });
    expect(sqs.messages).toHaveLength(1);
  });
});
