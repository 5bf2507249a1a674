// `npm run release-fixture -- tests/fixtures/releases/<version>`: what a release leaves in
// Redis, kept so every later release can be held to reading it the same. It starts a fresh
// redis-server and this checkout's server on it, writes a representative data set through
// the HTTP API (views by many users, likes and unlikes, follows, batch increments, queued
// events with a duplicate id, Idempotency-Keys, an admin-set count past 10^11), then keeps:
//   store.json     every key as DUMP gives it, with its time to live (RESTORE puts it back)
//   answers.json   what clients read: every counter (unique_users, member for a user in it
//                  and one not), hot for period=all of every type
//   export.ndjson  what `npm run export` wrote from that store
// Run once per release whose store format or export format may differ from the last one's.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort, startRedis } from "../../tests/support/redis-server.ts";

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

/** Every key as DUMP gives it (base64), with its remaining time to live in ms (0: none). */
async function dumpStore(url: string): Promise<{ key: string; pttl: number; dump: string }[]> {
  const redis = new Redis(url);
  try {
    const keys = (await redis.keys("*")).sort();
    return await Promise.all(
      keys.map(async (key) => ({
        key,
        pttl: Math.max(0, await redis.pttl(key)),
        dump: ((await redis.dumpBuffer(key)) as Buffer).toString("base64"),
      })),
    );
  } finally {
    redis.disconnect();
  }
}

function run(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
}

async function serverOn(redisUrl: string): Promise<{ base: string; stop: () => void }> {
  const port = await freePort();
  const child = run(["shared/runtime/server.ts"], {
    REDIS_URL: redisUrl,
    KEY_PREFIX: PREFIX,
    ADMIN_KEYS: ADMIN_KEY,
    PORT: String(port),
    LOG_LEVEL: "info",
  });
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

async function main(): Promise<number> {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write("usage: npm run release-fixture -- tests/fixtures/releases/<version>\n");
    return 2;
  }
  mkdirSync(dir, { recursive: true });
  const redis = await startRedis();
  const server = await serverOn(redis.url);
  try {
    const call = caller(server.base);
    await writeDataSet(call);
    await queuedEventsCounted(call);
    writeFileSync(join(dir, "answers.json"), `${JSON.stringify(await answers(call), null, 2)}\n`);
    const version = (await new Redis(redis.url).info("server")).match(/redis_version:(\S+)/)?.[1];
    const keys = await dumpStore(redis.url);
    writeFileSync(
      join(dir, "store.json"),
      `${JSON.stringify({ redis_version: version, key_prefix: PREFIX, keys }, null, 1)}\n`,
    );
    const exported = run(["infra/tools/export.ts", "--out", join(dir, "export.ndjson")], {
      REDIS_URL: redis.url,
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
    await redis.stop();
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
