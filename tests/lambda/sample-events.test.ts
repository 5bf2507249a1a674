// events/: one sample per route of the route table, and an SQS event for the consumer whose
// message the project's own encoder made; all of them exactly what `npm run sample-events`
// writes. The consumer's sample, invoked as the README shows, applies its events.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routesWithoutSample, sampleDrift } from "../../infra/tools/lambda/sample-events.ts";
import { createRedisClient, createRedisStore } from "../../shared/stores/redis.ts";
import { randomPrefix } from "../support/backends.ts";
import { runNode } from "../support/node-process.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(() => redis.stop());

describe("events/", () => {
  it("has a sample for every route, and is what npm run sample-events writes", () => {
    expect(routesWithoutSample()).toEqual([]);
    expect(sampleDrift("events")).toEqual([]);
  });
});

describe("npm run invoke -- consume events/consume.json", () => {
  const invoke = async (event: string, env: Record<string, string>) => {
    const run = await runNode(["infra/tools/lambda/invoke.ts", "consume", event], {
      LOG_LEVEL: "warn",
      ...env,
    });
    return { code: await run.exited, output: run.output() };
  };

  it("applies the sample's events to the store, once however often it is delivered", async () => {
    const prefix = randomPrefix();
    const env = { REDIS_URL: redis.url, KEY_PREFIX: prefix };
    for (let delivery = 0; delivery < 2; delivery++) {
      const { code, output } = await invoke("events/consume.json", env);
      expect(code, output).toBe(0);
      expect(JSON.parse(output.slice(output.indexOf("{")))).toEqual({ batchItemFailures: [] });
    }
    const client = createRedisClient(redis.url, false, 2000);
    try {
      const store = createRedisStore(client, { keyPrefix: prefix, timeoutMs: 2000 });
      const [view] = await store.read([{ resourceId: "article_001", type: "view", kind: "total" }]);
      expect(view?.count).toBe(2);
    } finally {
      client.disconnect();
    }
  }, 60_000);

  it("fails, naming what it got, when the event is not SQS's", async () => {
    const { code, output } = await invoke("events/increment.json", {});
    expect(code).toBe(1);
    expect(output).toContain("the consumer takes SQS events");
    expect(output).toContain("routeKey");
  }, 60_000);
});
