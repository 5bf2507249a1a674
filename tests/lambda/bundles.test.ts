// The real bundles, built with the deploy options, loaded in their own Node process as the
// Lambda runtime would, with secrets read through the real AWS SDK from a local Secrets
// Manager endpoint.

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltBundle, buildBundles } from "../../infra/bundling.ts";
import { VERSION } from "../../shared/http/version.ts";
import { apiGatewayEvent } from "../support/apigw.ts";
import { randomPrefix } from "../support/backends.ts";
import { invokeBuilt } from "../support/built.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { type SecretsEndpoint, startSecretsEndpoint } from "../support/secrets-endpoint.ts";
import { startUpstashEndpoint, type UpstashEndpoint } from "../support/upstash-endpoint.ts";

const API_KEY = "bundle-test-key-0123456789";
const ADMIN_KEY = "bundle-admin-key-0123456789";
let dir: string;
let redis: RedisServer;
let upstash: UpstashEndpoint;
let secrets: SecretsEndpoint;
let bundles: BuiltBundle[];

beforeAll(async () => {
  // Inside the project, so the bundles resolve @aws-sdk/* from node_modules as they do from
  // the Lambda runtime's own copy (the bundler leaves it out).
  mkdirSync("dist", { recursive: true });
  dir = mkdtempSync(join("dist", "test-bundles-"));
  redis = await startRedis();
  upstash = await startUpstashEndpoint(redis.url, "upstash-token-from-secret");
  secrets = await startSecretsEndpoint({
    "highpress/upstash-token": "upstash-token-from-secret",
    "highpress/api-keys": JSON.stringify([API_KEY]),
    "highpress/admin-keys": `${ADMIN_KEY}, another-admin-key-0123456789`,
  });
  bundles = [...(await buildBundles(dir, "upstash")), ...(await buildBundles(dir, "redis"))];
}, 60_000);
afterAll(async () => {
  await secrets?.close();
  await upstash?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const bundle = (id: string, store: string) => {
  const found = bundles.find((b) => b.id === id && b.store === store);
  if (!found) throw new Error(`no ${store} bundle for ${id}`);
  return found.file;
};

const incrementEvent = (resource: string, headers: Record<string, string> = {}) =>
  apiGatewayEvent({
    method: "POST",
    path: "/api/v1/counter/increment",
    headers,
    body: { resource_id: resource, counter_type: "view", user_id: "u", increment: 2 },
  });

describe("built bundles", () => {
  it("Upstash: the token and API keys come from Secrets Manager, read once at init", async () => {
    const env = {
      ...secrets.sdkEnv,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN_SECRET: "highpress/upstash-token",
      API_KEYS_SECRET: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:highpress/api-keys-AbCdEf",
      KEY_PREFIX: randomPrefix(),
      LOG_LEVEL: "error",
    };
    const readsBefore = secrets.reads.length;
    const [noKey, withKey, again] = await invokeBuilt(
      bundle("IncrementFunction", "upstash"),
      [
        incrementEvent("b1"),
        incrementEvent("b1", { "x-api-key": API_KEY }),
        incrementEvent("b1", { "x-api-key": API_KEY }),
      ],
      env,
    );
    expect(noKey?.statusCode).toBe(401);
    expect(withKey?.statusCode).toBe(200);
    expect(JSON.parse(again?.body ?? "{}").data.count).toBe(4);
    expect(secrets.reads.length - readsBefore).toBe(2);
  });

  it("Admin: the admin keys come from their own secret, read by the admin function", async () => {
    const env = {
      ...secrets.sdkEnv,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN_SECRET: "highpress/upstash-token",
      API_KEYS_SECRET: "highpress/api-keys",
      ADMIN_KEYS_SECRET: "highpress/admin-keys",
      KEY_PREFIX: randomPrefix(),
      LOG_LEVEL: "error",
    };
    const set = (key: string) =>
      apiGatewayEvent({
        method: "PUT",
        path: "/api/v1/admin/counter/adm1/view",
        headers: { authorization: `Bearer ${key}` },
        body: { count: 42 },
      });
    const [asAdmin, asWriter] = await invokeBuilt(
      bundle("AdminFunction", "upstash"),
      [set(ADMIN_KEY), set(API_KEY)],
      env,
    );
    expect(asAdmin?.statusCode).toBe(200);
    expect(JSON.parse(asAdmin?.body ?? "{}").data.count).toBe(42);
    expect(asWriter?.statusCode).toBe(403);
    // Without the secret, the same function has no admin routes.
    const { ADMIN_KEYS_SECRET: _, ...without } = env;
    const [absent] = await invokeBuilt(bundle("AdminFunction", "upstash"), [set(ADMIN_KEY)], without);
    expect(absent?.statusCode).toBe(404);
  });

  it("ElastiCache: the redis bundle serves every function's routes", async () => {
    const env = { REDIS_URL: redis.url, KEY_PREFIX: randomPrefix(), LOG_LEVEL: "error" };
    const [applied] = await invokeBuilt(bundle("IncrementFunction", "redis"), [incrementEvent("b2")], env);
    expect(JSON.parse(applied?.body ?? "{}").data.count).toBe(2);
    const [read, hot, health] = await invokeBuilt(
      bundle("GetFunction", "redis"),
      [
        apiGatewayEvent({ method: "GET", path: "/api/v1/counter/b2/view" }),
        apiGatewayEvent({ method: "GET", path: "/api/v1/counter/hot/view", query: { period: "hour" } }),
        apiGatewayEvent({ method: "GET", path: "/health", query: { deep: "1" } }),
      ],
      env,
    );
    expect(JSON.parse(read?.body ?? "{}").data).toMatchObject({ count: 2, unique_users: 1 });
    expect(JSON.parse(hot?.body ?? "{}").data.items).toEqual([{ resource_id: "b2", count: 2 }]);
    expect(JSON.parse(health?.body ?? "{}")).toMatchObject({
      status: "ok",
      store: "redis",
      version: VERSION,
    });
    const [batch] = await invokeBuilt(
      bundle("BatchFunction", "redis"),
      [
        apiGatewayEvent({
          method: "POST",
          path: "/api/v1/counter/batch",
          body: { queries: [{ resource_id: "b2", counter_type: "view" }] },
        }),
      ],
      env,
    );
    expect(JSON.parse(batch?.body ?? "{}").data).toEqual([
      { resource_id: "b2", counter_type: "view", count: 2 },
    ]);
  });

  it("an unreadable secret gives a 503 envelope, not a crash", async () => {
    const [res] = await invokeBuilt(bundle("IncrementFunction", "upstash"), [incrementEvent("b3")], {
      ...secrets.sdkEnv,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN_SECRET: "highpress/missing",
      LOG_LEVEL: "error",
    });
    expect(res?.statusCode).toBe(503);
    expect(JSON.parse(res?.body ?? "{}")).toMatchObject({ error: "Service Unavailable", code: 503 });
    expect(secrets.reads).toContain("highpress/missing");
  });

  it("a deployed bundle carries no memory store: without store settings it answers 503", async () => {
    const envs: Record<string, string>[] = [
      { LOG_LEVEL: "error" },
      { COUNTER_STORE: "memory", LOG_LEVEL: "error" },
    ];
    for (const env of envs) {
      const [res] = await invokeBuilt(bundle("IncrementFunction", "upstash"), [incrementEvent("b5")], env);
      expect(res?.statusCode).toBe(503);
    }
    for (const store of ["upstash", "redis"]) {
      expect(readFileSync(bundle("IncrementFunction", store), "utf8")).not.toContain(`name="memory"`);
    }
  });

  it("the memory bundle, for trying the functions locally, counts in memory and carries no client", async () => {
    const [memory] = await buildBundles(dir, "memory", ["IncrementFunction"]);
    if (!memory) throw new Error("no memory bundle");
    const [first, second] = await invokeBuilt(memory.file, [incrementEvent("m1"), incrementEvent("m1")], {
      LOG_LEVEL: "error",
    });
    expect(JSON.parse(first?.body ?? "{}").data.count).toBe(2);
    expect(JSON.parse(second?.body ?? "{}").data.count).toBe(4);
    const code = readFileSync(memory.file, "utf8");
    expect(code).toContain(`name="memory"`); // the marker the deployed bundles are checked for
    expect(code).not.toContain("autoResendUnfulfilledCommands");
    expect(code).not.toContain("upstash-sync-token");
    expect(memory.bytes).toBeLessThan(bundles.find((b) => b.store === "upstash")?.bytes ?? 0);
  });

  it("a bundle refuses a store it does not carry", async () => {
    const [res] = await invokeBuilt(bundle("IncrementFunction", "upstash"), [incrementEvent("b4")], {
      REDIS_URL: redis.url,
      LOG_LEVEL: "error",
    });
    expect(res?.statusCode).toBe(503);
  });
});
