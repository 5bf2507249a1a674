// The Lambda handlers (source) invoked with API Gateway v2 events against a real Redis:
// same contract, envelopes and errors as the local server.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_HANDLERS } from "../../shared/http/app.ts";
import { createLambdaHandler, type LambdaHandler } from "../../shared/runtime/lambda.ts";
import { apiGatewayEvent, type EventInput, lambdaContext } from "../support/apigw.ts";
import { randomPrefix } from "../support/backends.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { memoryLogger, stdoutLines } from "../support/test-app.ts";

let redis: RedisServer;
let increment: LambdaHandler;
let get: LambdaHandler;
let batch: LambdaHandler;
const emitted: string[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const env = {
    REDIS_URL: redis.url,
    KEY_PREFIX: randomPrefix(),
    STORE_TIMEOUT_MS: "500",
  };
  const logger = memoryLogger();
  const emit = (line: string) => emitted.push(line);
  increment = createLambdaHandler("IncrementFunction", ALL_HANDLERS, { env, logger, emit });
  get = createLambdaHandler("GetFunction", ALL_HANDLERS, {
    env: { ...env, AWS_LAMBDA_FUNCTION_NAME: "HighPressStack-GetFunction" },
    logger,
    emit,
  });
  batch = createLambdaHandler("BatchFunction", ALL_HANDLERS, { env, logger, emit });
  await Promise.all([increment.warm, get.warm, batch.warm]);
}, 30_000);
afterAll(() => redis.stop());

async function call(handler: LambdaHandler, input: EventInput) {
  const result = await handler(apiGatewayEvent(input), lambdaContext());
  // biome-ignore lint/suspicious/noExplicitAny: bodies are asserted on field by field.
  const body = JSON.parse(result.body) as Record<string, any>;
  return { status: result.statusCode, headers: result.headers ?? {}, body };
}

describe("Lambda handlers with API Gateway v2 events", () => {
  it("serve every route of the spec", async () => {
    const like = await call(increment, {
      method: "POST",
      path: "/api/v1/counter/increment",
      body: { resource_id: "lam_1", counter_type: "like", user_id: "u1" },
    });
    expect(like.status).toBe(200);
    expect(like.body).toEqual({
      success: true,
      data: { resource_id: "lam_1", counter_type: "like", count: 1, success: true, applied: true },
    });
    const read = await call(get, {
      method: "GET",
      path: "/api/v1/counter/lam_1/like",
      query: { user_id: "u1" },
      routeKey: "GET /api/v1/counter/{resource_id}/{counter_type}",
    });
    expect(read.body.data).toEqual({ resource_id: "lam_1", counter_type: "like", count: 1, member: true });
    const hot = await call(get, {
      method: "GET",
      path: "/api/v1/counter/hot/like",
      query: { period: "day" },
    });
    expect(hot.body.data.items).toContainEqual({ resource_id: "lam_1", count: 1 });
    const many = await call(batch, {
      method: "POST",
      path: "/api/v1/counter/batch",
      body: {
        queries: [
          { resource_id: "lam_1", counter_type: "like" },
          { resource_id: "none", counter_type: "view" },
        ],
      },
    });
    expect(many.body.data.map((d: { count: number }) => d.count)).toEqual([1, 0]);
    const health = await call(get, { method: "GET", path: "/health", query: { deep: "1" } });
    expect(health.body).toMatchObject({ status: "ok", store: "redis" });
  });

  it("decode base64 bodies", async () => {
    const res = await call(increment, {
      method: "POST",
      path: "/api/v1/counter/increment",
      body: { resource_id: "lam_b64", counter_type: "view", user_id: "u", increment: 3 },
      base64: true,
    });
    expect(res.body.data.count).toBe(3);
  });

  it("replay an Idempotency-Key retry, as API Gateway or an SDK would send it", async () => {
    const input: EventInput = {
      method: "POST",
      path: "/api/v1/counter/increment",
      headers: { "idempotency-key": "retry-1" },
      body: { resource_id: "lam_idem", counter_type: "view", user_id: "u", increment: 2 },
    };
    const first = await call(increment, input);
    const retry = await call(increment, input);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
  });

  it("answer the same error envelopes: 400, 404, 405, 413, 415", async () => {
    const bad = await call(increment, {
      method: "POST",
      path: "/api/v1/counter/increment",
      body: { resource_id: "a b", counter_type: "like", user_id: "u" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: "Invalid request format", code: 400 });
    expect(bad.body.details[0].path).toBe("resource_id");
    // Unmatched requests reach the get function through the catch-all route.
    const unknown = await call(get, { method: "GET", path: "/nope", routeKey: "$default" });
    expect(unknown).toMatchObject({ status: 404, body: { error: "Not Found", code: 404 } });
    const wrongMethod = await call(get, {
      method: "GET",
      path: "/api/v1/counter/increment",
      routeKey: "$default",
    });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe("POST");
    const big = await call(increment, {
      method: "POST",
      path: "/api/v1/counter/increment",
      body: JSON.stringify({
        resource_id: "lam_big",
        counter_type: "view",
        user_id: "u",
        pad: "x".repeat(70_000),
      }),
    });
    expect(big).toMatchObject({ status: 413, body: { error: "Payload Too Large", code: 413 } });
    const text = await call(increment, {
      method: "POST",
      path: "/api/v1/counter/increment",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    expect(text.status).toBe(415);
  });

  it("answer 503 with Retry-After while Redis is down, and recover", async () => {
    await redis.kill();
    const down = await call(get, { method: "GET", path: "/api/v1/counter/lam_1/like" });
    expect(down.status).toBe(503);
    expect(down.headers["retry-after"]).toBe("1");
    await redis.restart();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = (await call(get, { method: "GET", path: "/api/v1/counter/lam_1/like" })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  }, 30_000);
});

describe("rate limits on Lambda", () => {
  it("count per client address from API Gateway, across function instances", async () => {
    const env = { REDIS_URL: redis.url, KEY_PREFIX: randomPrefix(), RATE_LIMIT_IP: "2/60" };
    const logger = memoryLogger();
    // Two instances, as two Lambda execution environments: the window is in Redis.
    const a = createLambdaHandler("GetFunction", ALL_HANDLERS, { env, logger, emit: () => {} });
    const b = createLambdaHandler("GetFunction", ALL_HANDLERS, { env, logger, emit: () => {} });
    const from = (ip: string) => {
      const event = apiGatewayEvent({ method: "GET", path: "/api/v1/counter/rl/view" }) as unknown as {
        requestContext: { http: { sourceIp: string } };
      };
      event.requestContext.http.sourceIp = ip;
      return event as unknown as Parameters<LambdaHandler>[0];
    };
    expect((await a(from("198.51.100.7"))).statusCode).toBe(200);
    expect((await b(from("198.51.100.7"))).statusCode).toBe(200);
    const refused = await a(from("198.51.100.7"));
    expect(refused.statusCode).toBe(429);
    expect(refused.headers?.["retry-after"]).toMatch(/^\d+$/);
    expect((await b(from("198.51.100.8"))).statusCode).toBe(200);
  });
});

describe("metrics on Lambda", () => {
  it("writes one EMF line per request, with API Gateway's request id", async () => {
    emitted.length = 0;
    await get(apiGatewayEvent({ method: "GET", path: "/health" }), lambdaContext());
    expect(emitted).toHaveLength(1);
    const line = JSON.parse(emitted[0] ?? "{}");
    expect(line).toMatchObject({
      Function: "HighPressStack-GetFunction",
      Route: "/health",
      Requests: 1,
      Errors: 0,
      status: 200,
      request_id: "Cq3cBjHLDoEEMzQ=",
    });
    expect(line._aws.CloudWatchMetrics[0].Dimensions).toEqual([["Function"], ["Function", "Route"]]);
  });
});

describe("a function that cannot start", () => {
  it("answers a 503 envelope, logs why, and tries again on the next invocation", async () => {
    const env: Record<string, string> = { COUNTER_STORE: "redis", LOG_LEVEL: "error" };
    const logger = memoryLogger();
    const handler = createLambdaHandler("IncrementFunction", ALL_HANDLERS, { env, logger, emit: () => {} });
    await handler.warm;
    const logged = logger.lines.find((l) => l.msg === "highpress function failed to start");
    expect(JSON.stringify(logged)).toContain("REDIS_URL: required when COUNTER_STORE is redis");
    const res = await handler(
      apiGatewayEvent({ method: "POST", path: "/api/v1/counter/increment", body: {} }),
    );
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body)).toEqual({
      error: "Service Unavailable",
      code: 503,
      message: "The service could not start: see its logs. Retry shortly.",
    });
    // Fixing what was missing is enough for the next invocation to start.
    env.REDIS_URL = redis.url;
    const later = await handler(
      apiGatewayEvent({
        method: "POST",
        path: "/api/v1/counter/increment",
        body: { resource_id: "late", counter_type: "view", user_id: "u" },
      }),
    );
    expect(later.statusCode).toBe(200);
  });
});

describe("secrets on Lambda", () => {
  const write = (key: string) =>
    apiGatewayEvent({
      method: "POST",
      path: "/api/v1/counter/increment",
      headers: { authorization: `Bearer ${key}` },
      body: { resource_id: "rotated", counter_type: "view", user_id: "u" },
    });

  it("are read again after their TTL: a rotated API key works without a deploy, the old one stops", async () => {
    const stored: Record<string, string> = { "keys-arn": '["the-first-key-0123456789"]' };
    let reads = 0;
    let now = 1_000_000;
    const handler = createLambdaHandler("IncrementFunction", ALL_HANDLERS, {
      env: { REDIS_URL: redis.url, KEY_PREFIX: randomPrefix(), API_KEYS_SECRET: "keys-arn" },
      readSecret: async (id) => {
        reads++;
        return stored[id] ?? "";
      },
      logger: memoryLogger(),
      emit: () => {},
      clock: () => now,
    });
    await handler.warm;
    expect((await handler(write("the-first-key-0123456789"))).statusCode).toBe(200);
    stored["keys-arn"] = '["the-second-key-0123456789"]';
    // Within the TTL (5 minutes) the secret is not read again.
    now += 4 * 60_000;
    expect((await handler(write("the-second-key-0123456789"))).statusCode).toBe(401);
    expect(reads).toBe(1);
    now += 2 * 60_000;
    expect((await handler(write("the-second-key-0123456789"))).statusCode).toBe(200);
    expect((await handler(write("the-first-key-0123456789"))).statusCode).toBe(401);
    expect(reads).toBe(2);
  });

  it("keep serving with the last ones when a later read fails, and say so", async () => {
    let failing = false;
    let now = 0;
    const logger = memoryLogger();
    const handler = createLambdaHandler("IncrementFunction", ALL_HANDLERS, {
      env: { REDIS_URL: redis.url, KEY_PREFIX: randomPrefix(), API_KEYS_SECRET: "keys-arn" },
      readSecret: async () => {
        if (failing) throw new Error("Secrets Manager unreachable");
        return "the-only-key-0123456789";
      },
      logger,
      emit: () => {},
      clock: () => now,
    });
    await handler.warm;
    failing = true;
    now += 10 * 60_000;
    expect((await handler(write("the-only-key-0123456789"))).statusCode).toBe(200);
    expect(logger.lines.some((l) => String(l.msg).startsWith("secrets could not be read again"))).toBe(true);
  });
});

describe("log lines on Lambda", () => {
  it("carry level and timestamp (what Lambda's JSON format files them by), and follow LOG_LEVEL", async () => {
    const lines = await stdoutLines(async () => {
      for (const level of ["info", "warn"]) {
        const handler = createLambdaHandler("GetFunction", ALL_HANDLERS, {
          env: { REDIS_URL: redis.url, KEY_PREFIX: randomPrefix(), LOG_LEVEL: level },
          emit: () => {},
        });
        await handler.warm;
      }
    });
    const ready = lines.filter((l) => l.msg === "highpress function ready");
    // Only the info-level function said it was ready; the warn-level one kept quiet.
    expect(ready).toHaveLength(1);
    expect(ready[0]?.level).toBe("info");
    expect(new Date(String(ready[0]?.timestamp)).toISOString()).toBe(ready[0]?.timestamp);
  });
});
