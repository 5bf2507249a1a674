// `npm run release-fixture -- tests/fixtures/releases/<version>`: what a release leaves in
// Redis, kept so every later release can be held to reading it the same. It starts a fresh
// redis-server and this checkout's server on it, writes a representative data set through
// the HTTP API (views by many users, likes and unlikes, follows, batch increments, queued
// events with a duplicate id, Idempotency-Keys, an admin-set count past 10^11), then keeps:
//   store.json     every key as DUMP gives it, with its time to live (RESTORE puts it back)
//   answers.json   what clients read: every counter (unique_users, member for a user in it
//                  and one not), hot for period=all of every type
//   export.ndjson  what `npm run export` wrote from that store
// Run once per release whose store format or export format may differ from the last one's,
// on that release's code: `--server-from <checkout>` runs another checkout's server (the
// release's) while this tool writes and reads. `--cluster` does it on a 3-node Redis Cluster
// (ElastiCache's shape: sharded rankings), into <dir>/cluster/.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { freePort, startRedis, startRedisCluster } from "../../../tests/support/redis-server.ts";

const ADMIN_KEY = "fixture-admin-key-0123456789";
const PREFIX = "hp";
const TYPES = { like: "unique", follow: "unique", view: "total" } as const;

type Body = Record<string, unknown>;
type Call = (method: string, path: string, body?: Body, headers?: Record<string, string>) => Promise<Body>;

function caller(base: string): Call {
  return async (method, path, body, headers = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body ? { "content-type": "application/json" } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Body;
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** The data set: every write path of the release, on a few dozen counters. */
async function writeDataSet(call: Call): Promise<void> {
  const inc = (resource_id: string, counter_type: string, user_id: string, increment = 1, headers = {}) =>
    call("POST", "/api/v1/counter/increment", { resource_id, counter_type, user_id, increment }, headers);
  for (let u = 0; u < 60; u++) await inc("article_1", "view", `user_${u}`, 1 + (u % 3));
  for (let u = 0; u < 20; u++) await inc("article_2", "view", `user_${u}`);
  await inc("article_3", "view", "user_0", 1000);
  for (let u = 0; u < 30; u++) await inc("post_1", "like", `user_${u}`);
  for (let u = 0; u < 5; u++) await inc("post_1", "like", `user_${u}`, -1);
  for (let u = 0; u < 10; u++) await inc("post_2", "like", `user_${u}`);
  for (let u = 0; u < 12; u++) await inc("user_a", "follow", `user_${u}`);
  await inc("user_b", "follow", "user_1");
  await inc("article_2", "view", "user_99", 1, { "idempotency-key": "fixture-retry-1" });
  await inc("article_2", "view", "user_99", 1, { "idempotency-key": "fixture-retry-1" });
  const items = [0, 1, 2, 3, 4].flatMap((u) => [
    { resource_id: "article_5", counter_type: "view", user_id: `user_${u}` },
    { resource_id: "post_3", counter_type: "like", user_id: `user_${u}` },
  ]);
  await call(
    "POST",
    "/api/v1/counter/increments",
    { increments: items },
    { "idempotency-key": "fixture-batch-1" },
  );
  const events = Array.from({ length: 40 }, (_, i) => ({
    resource_id: i % 2 ? "article_4" : "post_4",
    counter_type: i % 2 ? "view" : "like",
    user_id: `user_${i % 7}`,
    event_id: `fixture-e-${i}`,
  }));
  await call("POST", "/api/v1/counter/events", { events });
  await call("POST", "/api/v1/counter/events", { events: events.slice(0, 3) });
  await call(
    "PUT",
    "/api/v1/admin/counter/article_big/view",
    { count: 123_456_789_012 },
    { authorization: `Bearer ${ADMIN_KEY}` },
  );
}

/** Waits until the queued events are counted (article_4 holds 20 views, post_4 4 likes of 7 users... at most). */
async function queuedEventsCounted(call: Call): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const read = (await call("GET", "/api/v1/counter/article_4/view")) as { data: { count: number } };
    if (read.data.count === 20) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("queued events were not counted in 20 s");
}

const COUNTERS: [string, keyof typeof TYPES][] = [
  ["article_1", "view"],
  ["article_2", "view"],
  ["article_3", "view"],
  ["article_4", "view"],
  ["article_5", "view"],
  ["article_big", "view"],
  ["post_1", "like"],
  ["post_2", "like"],
  ["post_3", "like"],
  ["post_4", "like"],
  ["user_a", "follow"],
  ["user_b", "follow"],
];

/** What clients read: each counter (unique ones for a member and a stranger), and hot for all time. */
async function answers(call: Call): Promise<Record<string, Body>> {
  const out: Record<string, Body> = {};
  for (const [resource, type] of COUNTERS) {
    const path = `/api/v1/counter/${resource}/${type}`;
    out[path] = await call("GET", path);
    if (TYPES[type] === "unique") {
      for (const user of ["user_1", "user_2", "stranger"])
        out[`${path}?user_id=${user}`] = await call("GET", `${path}?user_id=${user}`);
    }
  }
  for (const type of Object.keys(TYPES)) {
    const path = `/api/v1/counter/hot/${type}?period=all&limit=100`;
    out[path] = await call("GET", path);
  }
  return out;
}

/** Every key as DUMP gives it (base64), with its remaining time to live in ms (0: none), from each node. */
async function dumpStore(urls: string[]): Promise<{ key: string; pttl: number; dump: string }[]> {
  const all: { key: string; pttl: number; dump: string }[] = [];
  for (const url of urls) {
    const redis = new Redis(url);
    try {
      for (const key of await redis.keys("*")) {
        const pttl = Math.max(0, await redis.pttl(key));
        const dump = ((await redis.dumpBuffer(key)) as Buffer).toString("base64");
        all.push({ key, pttl, dump });
      }
    } finally {
      redis.disconnect();
    }
  }
  return all.sort((a, b) => (a.key < b.key ? -1 : 1));
}

function run(args: string[], env: Record<string, string>, cwd = "."): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
}

async function serverOn(
  store: Record<string, string>,
  checkout: string,
): Promise<{ base: string; stop: () => void }> {
  const port = await freePort();
  const env = { ...store, KEY_PREFIX: PREFIX, ADMIN_KEYS: ADMIN_KEY, PORT: String(port), LOG_LEVEL: "info" };
  const child = run(["shared/runtime/server.ts"], env, checkout);
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c) => {
      out += String(c);
      if (out.includes("highpress listening")) resolve();
    });
    child.once("exit", () => reject(new Error(`server exited: ${out}`)));
  });
  return { base: `http://127.0.0.1:${port}`, stop: () => child.kill("SIGTERM") };
}

/** A fresh store to write the fixture into: a redis-server, or a 3-node cluster. */
async function freshStore(
  cluster: boolean,
): Promise<{ env: Record<string, string>; urls: string[]; stop: () => Promise<void> }> {
  if (!cluster) {
    const redis = await startRedis();
    return { env: { REDIS_URL: redis.url }, urls: [redis.url], stop: () => redis.stop() };
  }
  const c = await startRedisCluster();
  return {
    env: { REDIS_URL: c.url, REDIS_CLUSTER: "true" },
    urls: c.ports.map((p) => `redis://127.0.0.1:${p}`),
    stop: () => c.stop(),
  };
}

async function redisVersion(url: string): Promise<string | undefined> {
  const redis = new Redis(url);
  try {
    return (await redis.info("server")).match(/redis_version:(\S+)/)?.[1];
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      cluster: { type: "boolean", default: false },
      "server-from": { type: "string", default: "." },
    },
  });
  const root = positionals[0];
  if (!root) {
    process.stderr.write(
      "usage: npm run release-fixture -- tests/fixtures/releases/<version> [--cluster] [--server-from <checkout>]\n",
    );
    return 2;
  }
  const dir = values.cluster ? join(root, "cluster") : root;
  mkdirSync(dir, { recursive: true });
  const store = await freshStore(values.cluster);
  const server = await serverOn(store.env, values["server-from"]);
  try {
    const call = caller(server.base);
    await writeDataSet(call);
    await queuedEventsCounted(call);
    writeFileSync(join(dir, "answers.json"), `${JSON.stringify(await answers(call), null, 2)}\n`);
    const keys = await dumpStore(store.urls);
    const version = await redisVersion(store.urls[0] as string);
    writeFileSync(
      join(dir, "store.json"),
      `${JSON.stringify({ redis_version: version, key_prefix: PREFIX, cluster: values.cluster, keys }, null, 1)}\n`,
    );
    const exported = run(["infra/tools/data/export.ts", "--out", join(dir, "export.ndjson")], {
      ...store.env,
      KEY_PREFIX: PREFIX,
      LOG_LEVEL: "warn",
    });
    const code = await new Promise<number | null>((resolve) => exported.once("exit", resolve));
    if (code !== 0) throw new Error(`export exited ${code}`);
    process.stdout.write(
      `wrote ${keys.length} keys, ${COUNTERS.length} counters' answers and an export to ${dir}\n`,
    );
    return 0;
  } finally {
    server.stop();
    await store.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `release-fixture failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
