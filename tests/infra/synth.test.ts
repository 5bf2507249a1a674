// The stack synthesised for real, bundles built by CDK with the local esbuild. Each route
// of the template is followed to its function and that function's bundled asset, which is
// then invoked with an API Gateway v2 event for the route, against real stores: the Redis
// Cluster (as ElastiCache Serverless runs) and the Upstash endpoint, token from Secrets Manager.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_BUDGET_KIB } from "../../infra/bundling.ts";
import { HighPressStack, type StoreMode } from "../../infra/stack.ts";
import { apiGatewayEvent, type EventInput } from "../support/apigw.ts";
import { randomPrefix } from "../support/backends.ts";
import { invokeBuilt } from "../support/built.ts";
import {
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from "../support/redis-server.ts";
import { type SecretsEndpoint, startSecretsEndpoint } from "../support/secrets-endpoint.ts";
import { type SqsEndpoint, startSqsEndpoint } from "../support/sqs-endpoint.ts";
import { startUpstashEndpoint, type UpstashEndpoint } from "../support/upstash-endpoint.ts";

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  Metadata?: Json;
}

const TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:highpress/upstash-token-AbCdEf";
let outdir: string;
let cluster: RedisCluster;
let redis: RedisServer;
let upstash: UpstashEndpoint;
let secrets: SecretsEndpoint;
let sqs: SqsEndpoint;

beforeAll(async () => {
  mkdirSync("dist", { recursive: true });
  outdir = mkdtempSync(join("dist", "synth-"));
  cluster = await startRedisCluster();
  redis = await startRedis();
  upstash = await startUpstashEndpoint(redis.url, "token-in-secrets-manager");
  secrets = await startSecretsEndpoint({ "highpress/upstash-token": "token-in-secrets-manager" });
  sqs = await startSqsEndpoint();
}, 60_000);
afterAll(async () => {
  await secrets?.close();
  await sqs?.close();
  await upstash?.close();
  await redis?.stop();
  await cluster?.stop();
  rmSync(outdir, { recursive: true, force: true });
});

/** Synthesises the stack and returns, per route key, the bundle file of the function it reaches. */
function synthRoutes(store: StoreMode, dir: string) {
  const app = new App({
    outdir: dir,
    context: { "aws:cdk:enable-path-metadata": true, "aws:cdk:enable-asset-metadata": true },
  });
  new HighPressStack(app, "HighPressStack", {
    store,
    ...(store === "upstash" ? { upstashUrl: "https://eu1-x.upstash.io", upstashTokenSecret: TOKEN_ARN } : {}),
  });
  const template = app.synth().getStackByName("HighPressStack").template as {
    Resources: Record<string, Resource>;
  };
  const byType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
  const routes: Record<string, { bundle: string; env: Record<string, unknown> }> = {};
  for (const [, route] of byType("AWS::ApiGatewayV2::Route")) {
    // Target: {"Fn::Join": ["", ["integrations/", {"Ref": <integration>}]]};
    // IntegrationUri: {"Fn::GetAtt": [<function>, "Arn"]}.
    const integrationId = JSON.stringify(route.Properties.Target).match(/"Ref":"([^"]+)"/)?.[1];
    const integration = integrationId ? template.Resources[integrationId] : undefined;
    const fnId = JSON.stringify(integration?.Properties.IntegrationUri).match(
      /"Fn::GetAtt":\["([^"]+)","Arn"\]/,
    )?.[1];
    const fn = fnId ? template.Resources[fnId] : undefined;
    const asset = fn?.Metadata?.["aws:asset:path"];
    if (!fn || typeof asset !== "string") {
      throw new Error(`route ${route.Properties.RouteKey} leads to no bundled function`);
    }
    routes[String(route.Properties.RouteKey)] = {
      bundle: join(dir, asset, "index.mjs"),
      env: (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
    };
  }
  // The events consumer has no route: an SQS event source mapping leads to it.
  const [, mapping] = byType("AWS::Lambda::EventSourceMapping")[0] ?? [];
  const consumerId = JSON.stringify(mapping?.Properties.FunctionName).match(/"Ref":"([^"]+)"/)?.[1];
  const consumer = consumerId ? template.Resources[consumerId] : undefined;
  const consumerAsset = consumer?.Metadata?.["aws:asset:path"];
  if (!consumer || typeof consumerAsset !== "string") throw new Error("no bundled events consumer");
  const consumerRoute = {
    bundle: join(dir, consumerAsset, "index.mjs"),
    env: (consumer.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
  };
  return { routes, consumer: consumerRoute };
}

/** The template's environment with the values only AWS can resolve swapped for local ones. */
function localEnv(templateEnv: Record<string, unknown>, local: Record<string, string>) {
  const env: Record<string, string> = { LOG_LEVEL: "error", KEY_PREFIX: randomPrefix() };
  for (const [k, v] of Object.entries(templateEnv)) if (typeof v === "string") env[k] = v;
  return { ...env, ...local };
}

// The admin function gets its keys from a secret when the stack has adminKeysSecret; here,
// as a variable (the secret's path is proven in tests/lambda).
const ADMIN_KEY = "synth-admin-key-0123456789";

const EVENTS: Record<string, EventInput> = {
  "POST /api/v1/counter/increment": {
    method: "POST",
    path: "/api/v1/counter/increment",
    body: { resource_id: "synth_1", counter_type: "view", user_id: "u", increment: 5 },
  },
  "GET /api/v1/counter/{resource_id}/{counter_type}": { method: "GET", path: "/api/v1/counter/synth_1/view" },
  "POST /api/v1/counter/events": {
    method: "POST",
    path: "/api/v1/counter/events",
    body: {
      events: [1, 2, 3].map((n) => ({
        resource_id: "synth_5",
        counter_type: "view",
        user_id: `u${n}`,
        event_id: `s-${n}`,
      })),
    },
  },
  "POST /api/v1/counter/increments": {
    method: "POST",
    path: "/api/v1/counter/increments",
    body: {
      increments: [
        { resource_id: "synth_3", counter_type: "view", user_id: "u", increment: 2 },
        { resource_id: "synth_4", counter_type: "like", user_id: "u" },
      ],
    },
  },
  "GET /api/v1/counter/hot/{counter_type}": {
    method: "GET",
    path: "/api/v1/counter/hot/view",
    query: { period: "all" },
  },
  "POST /api/v1/counter/batch": {
    method: "POST",
    path: "/api/v1/counter/batch",
    body: { queries: [{ resource_id: "synth_1", counter_type: "view" }] },
  },
  "GET /health": { method: "GET", path: "/health", query: { deep: "1" } },
  "GET /api/v1/counter/{resource_id}/{counter_type}/badge.svg": {
    method: "GET",
    path: "/api/v1/counter/synth_1/view/badge.svg",
    query: { label: "views" },
  },
  "GET /api/v1/counter/{resource_id}/{counter_type}/history": {
    method: "GET",
    path: "/api/v1/counter/synth_1/view/history",
    query: { days: "2" },
  },
  "GET /api/v1/counter/{resource_id}/{counter_type}/history.svg": {
    method: "GET",
    path: "/api/v1/counter/synth_1/view/history.svg",
    query: { days: "7" },
  },
  "PUT /api/v1/admin/counter/{resource_id}/{counter_type}": {
    method: "PUT",
    path: "/api/v1/admin/counter/synth_2/view",
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    body: { count: 1234 },
  },
  "DELETE /api/v1/admin/counter/{resource_id}/{counter_type}": {
    method: "DELETE",
    path: "/api/v1/admin/counter/synth_2/like",
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  },
  "DELETE /api/v1/admin/users/{user_id}": {
    method: "DELETE",
    path: "/api/v1/admin/users/u",
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  },
  $default: { method: "DELETE", path: "/api/v1/counter/increment", routeKey: "$default" },
};

describe.each(["elasticache", "upstash"] as const)("synthesised %s stack", (store) => {
  it("maps every route to a bundled function that serves it, within the size budget", async () => {
    const dir = join(outdir, store);
    const { routes, consumer } = synthRoutes(store, dir);
    expect(Object.keys(routes).sort()).toEqual(Object.keys(EVENTS).sort());
    const local: Record<string, string> =
      store === "elasticache"
        ? { REDIS_URL: cluster.url, REDIS_CLUSTER: "true" }
        : { ...secrets.sdkEnv, UPSTASH_REDIS_REST_URL: upstash.url };
    const prefix = randomPrefix();
    const answers: Record<string, { statusCode: number; body: string; headers: Record<string, string> }> = {};
    for (const key of [
      "POST /api/v1/counter/increment",
      ...Object.keys(EVENTS).filter((k) => k !== "POST /api/v1/counter/increment"),
    ]) {
      const route = routes[key];
      const input = EVENTS[key];
      if (!route || !input) throw new Error(`no route or event for ${key}`);
      const admin: Record<string, string> = key.includes("/admin/") ? { ADMIN_KEYS: ADMIN_KEY } : {};
      // The events function sends to the local SQS endpoint where AWS would resolve the queue.
      const queue: Record<string, string> = key.includes("/events")
        ? { ...sqs.sdkEnv, EVENTS_QUEUE_URL: sqs.queueUrl }
        : {};
      const env = { ...localEnv(route.env, local), KEY_PREFIX: prefix, ...admin, ...queue };
      const [answer] = await invokeBuilt(route.bundle, [apiGatewayEvent(input)], env);
      if (!answer) throw new Error(`no answer for ${key}`);
      answers[key] = answer;
    }
    const body = (key: string) => JSON.parse(answers[key]?.body ?? "{}");
    expect(body("POST /api/v1/counter/increment").data.count).toBe(5);
    expect(body("POST /api/v1/counter/increments").data.map((d: { count: number }) => d.count)).toEqual([
      2, 1,
    ]);
    expect(body("GET /api/v1/counter/{resource_id}/{counter_type}").data).toMatchObject({
      count: 5,
      unique_users: 1,
    });
    // The batch of increments ran before the ranking was read.
    expect(body("GET /api/v1/counter/hot/{counter_type}").data.items).toEqual([
      { resource_id: "synth_1", count: 5 },
      { resource_id: "synth_3", count: 2 },
    ]);
    expect(body("POST /api/v1/counter/batch").data).toEqual([
      { resource_id: "synth_1", counter_type: "view", count: 5 },
    ]);
    expect(body("GET /health")).toMatchObject({
      status: "ok",
      store: store === "upstash" ? "upstash" : "redis",
    });
    expect(answers["GET /api/v1/counter/{resource_id}/{counter_type}/badge.svg"]?.body).toContain(">views<");
    expect(answers["GET /api/v1/counter/{resource_id}/{counter_type}/badge.svg"]?.body).toContain(">5<");
    const history = body("GET /api/v1/counter/{resource_id}/{counter_type}/history").data;
    expect([history.count, history.days.length, history.days[1].delta]).toEqual([5, 2, 5]);
    expect(answers["GET /api/v1/counter/{resource_id}/{counter_type}/history.svg"]?.body).toContain(
      "<title>view of synth_1: +5 in 7 days</title>",
    );
    expect(body("PUT /api/v1/admin/counter/{resource_id}/{counter_type}").data.count).toBe(1234);
    expect(body("DELETE /api/v1/admin/counter/{resource_id}/{counter_type}").data.count).toBe(0);
    expect(body("DELETE /api/v1/admin/users/{user_id}").data).toEqual({ user_id: "u", removed: 1 }); // the batch's like
    expect(answers.$default?.statusCode).toBe(405);
    // The queued events reach SQS, and the bundled consumer counts them from an SQS event.
    expect(answers["POST /api/v1/counter/events"]?.statusCode).toBe(202);
    const records = sqs.messages
      .splice(0)
      .map((m) => ({ messageId: m.id, body: m.body, eventSource: "aws:sqs" }));
    expect(records).toHaveLength(1);
    const consumerEnv = { ...localEnv(consumer.env, local), KEY_PREFIX: prefix };
    const [consumed] = await invokeBuilt(
      consumer.bundle,
      [{ Records: [...records, ...records] } as never],
      consumerEnv,
    );
    expect(consumed).toEqual({ batchItemFailures: [] });
    const get = routes["GET /api/v1/counter/{resource_id}/{counter_type}"];
    if (!get) throw new Error("no GET route");
    const [read] = await invokeBuilt(
      get.bundle,
      [apiGatewayEvent({ method: "GET", path: "/api/v1/counter/synth_5/view" })],
      {
        ...localEnv(get.env, local),
        KEY_PREFIX: prefix,
      },
    );
    expect(JSON.parse(read?.body ?? "{}").data.count).toBe(3);
    expect(answers.$default?.headers.allow).toBe("POST");

    const budgetKiB = BUNDLE_BUDGET_KIB[store === "upstash" ? "upstash" : "redis"];
    for (const [key, route] of [...Object.entries(routes), ["consumer", consumer] as const]) {
      expect(statSync(route.bundle).size / 1024).toBeLessThanOrEqual(budgetKiB);
      const code = readFileSync(route.bundle, "utf8");
      expect(code.includes("autoResendUnfulfilledCommands")).toBe(store === "elasticache");
      expect(code.includes("upstash-sync-token")).toBe(store === "upstash");
      // ioredis's `debug` as the never-on logger (BUNDLE_ALIASES), not the package that loads tty.
      expect(code.includes('"tty"'), key).toBe(false);
      // The operator's scripts only where an admin route is served.
      expect(code.includes("import history"), key).toBe(key.includes("/admin/"));
    }
  }, 60_000);
});
