// Upgrades keep every count. Each release's fixture (tests/fixtures/releases/<version>: its
// store as DUMP gave it, what clients read, its export file) is restored into a fresh
// redis-server and read by this release, on Redis and through the Upstash endpoint: the same
// answers, then writes go on from the old values. Its export file imports with the same
// answers. The store records its data format, and a newer one than this release reads stops
// it with one line: on Redis, Redis Cluster and Upstash alike.

import { createReadStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importCounters } from "../../infra/tools/data/counters-file.ts";
import { DataFormatError, FORMAT_WITHOUT_KEY } from "../../shared/domain/data-format.ts";
import type { CounterStore } from "../../shared/domain/model.ts";
import { createApp } from "../../shared/http/app.ts";
import { sendingTo } from "../../shared/http/http-app.ts";
import { loadConfig } from "../../shared/runtime/config.ts";
import { createStore } from "../../shared/runtime/store.ts";
import { createMemoryEventQueue } from "../../shared/stores/memory.ts";
import { createRedisClient, createRedisStore } from "../../shared/stores/redis.ts";
import { createUpstashClient, createUpstashStore } from "../../shared/stores/upstash.ts";
import { randomPrefix } from "../support/backends.ts";
import { runNode } from "../support/node-process.ts";
import {
  freePort,
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from "../support/redis-server.ts";
import { memoryLogger } from "../support/test-app.ts";
import { startUpstashEndpoint, type UpstashEndpoint } from "../support/upstash-endpoint.ts";

const ROOT = "tests/fixtures/releases";
const RELEASES = readdirSync(ROOT).sort();

interface Fixture {
  store: { key_prefix: string; keys: { key: string; pttl: number; dump: string }[] };
  answers: Record<string, unknown>;
  exportFile: string;
}
const fixture = (release: string, shape = ""): Fixture => ({
  store: JSON.parse(readFileSync(join(ROOT, release, shape, "store.json"), "utf8")),
  answers: JSON.parse(readFileSync(join(ROOT, release, shape, "answers.json"), "utf8")),
  exportFile: join(ROOT, release, shape, "export.ndjson"),
});
/** The releases whose fixture was also written on a Redis Cluster (ElastiCache's shape). */
const CLUSTER_RELEASES = RELEASES.filter((r) => existsSync(join(ROOT, r, "cluster", "store.json")));

async function restore(url: string, store: Fixture["store"]): Promise<void> {
  const redis = new Redis(url);
  try {
    await redis.flushall();
    for (const { key, pttl, dump } of store.keys) await redis.restore(key, pttl, Buffer.from(dump, "base64"));
  } finally {
    redis.disconnect();
  }
}

const appOn = (store: CounterStore) =>
  createApp({
    store,
    eventQueue: sendingTo(createMemoryEventQueue()),
    counterTypes: loadConfig({}).counterTypes,
    maxBodyBytes: 65536,
    apiKeys: [],
    logger: memoryLogger(),
  });

async function read(store: CounterStore, paths: string[]): Promise<Record<string, unknown>> {
  const app = appOn(store);
  const out: Record<string, unknown> = {};
  for (const path of paths) out[path] = await (await app.request(path)).json();
  return out;
}

let redis: RedisServer;
let upstash: UpstashEndpoint;
beforeAll(async () => {
  redis = await startRedis();
  upstash = await startUpstashEndpoint(redis.url);
}, 30_000);
afterAll(async () => {
  await upstash.close();
  await redis.stop();
});

describe.each(RELEASES)("the store of release %s", (release) => {
  const f = fixture(release);
  const paths = Object.keys(f.answers);
  const prefix = f.store.key_prefix;
  const stores: [string, () => CounterStore][] = [
    [
      "redis",
      () =>
        createRedisStore(createRedisClient(redis.url, false, 2000), { keyPrefix: prefix, timeoutMs: 2000 }),
    ],
    [
      "upstash",
      () =>
        createUpstashStore(createUpstashClient(upstash.url, upstash.token, 2000), {
          keyPrefix: prefix,
          timeoutMs: 2000,
        }),
    ],
  ];

  it.each(stores)("reads the same on %s, and writes go on from the old values", async (_name, make) => {
    await restore(redis.url, f.store);
    const store = make();
    try {
      expect(await read(store, paths)).toEqual(f.answers);
      const app = appOn(store);
      const post = async (body: object) =>
        (await (
          await app.request("/api/v1/counter/increment", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          })
        ).json()) as {
          data: { count: number; applied: boolean };
        };
      const before = (f.answers["/api/v1/counter/article_1/view"] as { data: { count: number } }).data.count;
      expect(
        (await post({ resource_id: "article_1", counter_type: "view", user_id: "user_1" })).data.count,
      ).toBe(before + 1);
      const liked =
        f.answers["/api/v1/counter/post_1/like?user_id=user_6"] ??
        f.answers["/api/v1/counter/post_2/like?user_id=user_1"];
      expect(liked).toMatchObject({ data: { member: true } });
      const again = await post({ resource_id: "post_2", counter_type: "like", user_id: "user_1" });
      expect(again.data).toMatchObject({
        applied: false,
        count: (f.answers["/api/v1/counter/post_2/like"] as { data: { count: number } }).data.count,
      });
    } finally {
      await store.close();
    }
  });

  it("records its data format on first start (it recorded none), and starts again on it", async () => {
    await restore(redis.url, f.store);
    const config = loadConfig({ REDIS_URL: redis.url, KEY_PREFIX: prefix });
    const store = await createStore(config, memoryLogger());
    await store.close();
    const client = new Redis(redis.url);
    try {
      expect(await client.get(`${prefix}:format`)).toBe(String(FORMAT_WITHOUT_KEY));
    } finally {
      client.disconnect();
    }
    const again = await createStore(config, memoryLogger());
    expect(await read(again, paths)).toEqual(f.answers);
    await again.close();
  });

  it("exported a file that imports into this release with the same counts, members and rankings", async () => {
    const store = createRedisStore(createRedisClient(redis.url, false, 2000), {
      keyPrefix: randomPrefix(),
      timeoutMs: 2000,
    });
    try {
      const result = await importCounters(store, createReadStream(f.exportFile), loadConfig({}).counterTypes);
      expect(result.rejected).toBe(0);
      const answers = await read(store, paths);
      for (const path of paths) {
        // unique_users of total counters does not travel in an export (a HyperLogLog is not exported).
        const strip = (v: unknown) =>
          JSON.parse(JSON.stringify(v), (k, x) => (k === "unique_users" ? undefined : x));
        expect(strip(answers[path]), path).toEqual(strip(f.answers[path]));
      }
    } finally {
      await store.close();
    }
  });
});

describe.each(CLUSTER_RELEASES)("the Redis Cluster store of release %s", (release) => {
  const f = fixture(release, "cluster");
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(() => cluster.stop());

  it("reads the same (sharded rankings included), and writes go on from the old values", async () => {
    const client = createRedisClient(cluster.url, true, 2000);
    await new Promise((ready) => client.once("ready", ready));
    try {
      for (const { key, pttl, dump } of f.store.keys)
        await client.restore(key, pttl, Buffer.from(dump, "base64"), "REPLACE");
      const config = loadConfig({
        REDIS_URL: cluster.url,
        REDIS_CLUSTER: "true",
        KEY_PREFIX: f.store.key_prefix,
      });
      const store = await createStore(config, memoryLogger());
      try {
        expect(await read(store, Object.keys(f.answers))).toEqual(f.answers);
        const app = appOn(store);
        const res = await app.request("/api/v1/counter/increment", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ resource_id: "post_2", counter_type: "like", user_id: "user_1" }),
        });
        expect(await res.json()).toMatchObject({ data: { applied: false, count: 10 } });
        expect(await store.dataFormat.read()).toBe(FORMAT_WITHOUT_KEY);
      } finally {
        await store.close();
      }
    } finally {
      client.disconnect();
    }
  }, 30_000);
});

describe("a data format newer than this release reads", () => {
  const newer = async (url: string, prefix: string) => {
    const client = new Redis(url);
    await client.set(`${prefix}:format`, "99");
    client.disconnect();
  };

  it("stops the store from being made, on Redis and Upstash", async () => {
    const prefix = randomPrefix();
    await newer(redis.url, prefix);
    for (const env of [
      { REDIS_URL: redis.url, KEY_PREFIX: prefix },
      { UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token, KEY_PREFIX: prefix },
    ]) {
      await expect(createStore(loadConfig(env), memoryLogger())).rejects.toThrow(DataFormatError);
      await expect(createStore(loadConfig(env), memoryLogger())).rejects.toThrow(
        /data format 99, newer than this release reads \(1\)/,
      );
    }
  });

  it("stops the server with one line and exit code 1", async () => {
    const prefix = randomPrefix();
    await newer(redis.url, prefix);
    const server = await runNode(["shared/runtime/server.ts"], {
      REDIS_URL: redis.url,
      KEY_PREFIX: prefix,
      PORT: String(await freePort()),
    });
    expect(await server.exited).toBe(1);
    const lines = server.output().trim().split("\n");
    expect(lines.at(-1)).toMatch(/^highpress: the store holds data format 99, newer than this release reads/);
    expect(lines.filter((l) => l.startsWith("highpress:"))).toHaveLength(1);
  }, 30_000);

  describe("on Redis Cluster", () => {
    let cluster: RedisCluster;
    beforeAll(async () => {
      cluster = await startRedisCluster();
    }, 60_000);
    afterAll(() => cluster.stop());

    it("records the format, and refuses a newer one", async () => {
      const prefix = randomPrefix();
      const config = loadConfig({ REDIS_URL: cluster.url, REDIS_CLUSTER: "true", KEY_PREFIX: prefix });
      const store = await createStore(config, memoryLogger());
      expect(await store.dataFormat.read()).toBe(FORMAT_WITHOUT_KEY);
      await store.close();
      const client = createRedisClient(cluster.url, true, 2000);
      await new Promise((ready) => client.once("ready", ready));
      await client.set(`${prefix}:format`, "99");
      client.disconnect();
      await expect(createStore(config, memoryLogger())).rejects.toThrow(DataFormatError);
    }, 30_000);
  });
});

it("has for each release a store, its answers, and an export of every counter it answers for", () => {
  expect(RELEASES.length).toBeGreaterThanOrEqual(1);
  for (const release of RELEASES) {
    const f = fixture(release);
    expect(f.store.keys.length, release).toBeGreaterThan(10);
    const counters = Object.keys(f.answers).filter((p) => !p.includes("?") && !p.includes("/hot/"));
    const exported = readFileSync(f.exportFile, "utf8").trim().split("\n");
    expect(exported.length, release).toBe(counters.length);
  }
});
