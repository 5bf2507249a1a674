// `npm run footprint`: what fills a store. Writes counters through the real Redis store into
// a fresh redis-server and reads each key's size with MEMORY USAGE (SAMPLES 0: every
// element counted), then prints bytes per like, per view counter, per idempotency record (a
// single increment's, a keyed batch's), per ranking member and per counter's history, as the
// docs' table shows them.

import { Redis } from "ioredis";
import type { CounterStore, IncrementCommand } from "../../../shared/domain/model.ts";
import { KeyLayout } from "../../../shared/stores/key-layout.ts";
import { createRedisClient, createRedisStore } from "../../../shared/stores/redis.ts";
import { startRedis } from "../../../tests/support/redis-server.ts";
import { runWhenCommand } from "./servers.ts";

export interface Footprint {
  /** What was measured, and its bytes per item. */
  rows: { item: string; bytes: number; how: string }[];
}

const PREFIX = "hp";
const NOW = Date.parse("2026-11-25T10:15:00Z");
const keys = new KeyLayout(PREFIX);

const like = (resourceId: string, userId: string): IncrementCommand => ({
  resourceId,
  type: "like",
  kind: "unique",
  userId,
  delta: 1,
  now: NOW,
});
const view = (resourceId: string, userId: string, idempotencyKey?: string): IncrementCommand => ({
  resourceId,
  type: "view",
  kind: "total",
  userId,
  delta: 1,
  now: NOW,
  ...(idempotencyKey ? { idempotencyKey } : {}),
});

async function usage(redis: Redis, key: string): Promise<number> {
  return Number(await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
}

/** Sends `count` commands, 200 at a time. */
async function apply(
  store: CounterStore,
  count: number,
  make: (i: number) => IncrementCommand,
): Promise<void> {
  for (let start = 0; start < count; start += 200) {
    const batch = Array.from({ length: Math.min(200, count - start) }, (_, j) =>
      store.increment(make(start + j)),
    );
    await Promise.all(batch);
  }
}

const round = (n: number) => Math.round(n * 10) / 10;

async function likes(store: CounterStore, redis: Redis, rows: Footprint["rows"], members: number) {
  for (const [resource, size] of [
    ["small", 100],
    ["large", members],
  ] as const) {
    await apply(store, size, (i) => like(resource, `user_${i}`));
    const key = keys.counter(resource, "like", true);
    const encoding = String(await redis.call("OBJECT", "ENCODING", key));
    rows.push({
      item: `like (a set of ${size.toLocaleString("en")} members, ${encoding})`,
      bytes: round((await usage(redis, key)) / size),
      how: `MEMORY USAGE / ${size}`,
    });
  }
}

/** The per-user index of unique counters that erasure reads: an entry per like, a key per user. */
async function userIndexes(store: CounterStore, redis: Redis, rows: Footprint["rows"], members: number) {
  await apply(store, 100, (i) => like(`liked_${i}`, "fan"));
  rows.push({
    item: "a like's entry in its user's index (a user with 100 likes)",
    bytes: round((await usage(redis, keys.userIndex("fan"))) / 100),
    how: "MEMORY USAGE / 100",
  });
  rows.push({
    item: "a user's index with one like",
    bytes: await usage(redis, keys.userIndex(`user_${members - 1}`)),
    how: "MEMORY USAGE of one index",
  });
}

async function views(store: CounterStore, redis: Redis, rows: Footprint["rows"], users: number) {
  await store.increment(view("one", "user_0"));
  const counter = await usage(redis, keys.counter("one", "view", false));
  const sparse = await usage(redis, keys.users("one", "view"));
  rows.push({
    item: "view counter (string + HyperLogLog of 1 user)",
    bytes: counter + sparse,
    how: "MEMORY USAGE, both keys",
  });
  await apply(store, users, (i) => view("busy", `user_${i}`));
  const dense =
    (await usage(redis, keys.counter("busy", "view", false))) +
    (await usage(redis, keys.users("busy", "view")));
  rows.push({
    item: `view counter (string + HyperLogLog of ${users.toLocaleString("en")} users)`,
    bytes: dense,
    how: "MEMORY USAGE, both keys",
  });
  await apply(store, 100, (i) => view("keyed", "user_0", `request-${String(i).padStart(8, "0")}`));
  const record = await usage(redis, keys.idempotency("keyed", "request-00000000"));
  rows.push({
    item: "idempotency record of a single increment",
    bytes: record,
    how: "MEMORY USAGE of one record",
  });
}

/** What a keyed batch leaves: one record of every item's answer, whatever its size (records summed). */
async function keyedBatches(store: CounterStore, redis: Redis, rows: Footprint["rows"]) {
  for (const size of [1, 20, 100]) {
    const before = new Set(await redis.keys(`${PREFIX}:*`));
    const batch = Array.from({ length: size }, (_, i) => view(`batched_${i % 10}`, `user_${i}`));
    await store.incrementMany(batch, [], NOW, `batch-of-${size}`);
    const records = (await redis.keys(`${PREFIX}:*`)).filter((k) => !before.has(k) && /:ib?[:{]/.test(k));
    let bytes = 0;
    for (const key of records) bytes += await usage(redis, key);
    rows.push({
      item: `a keyed batch of ${size} (${records.length} record${records.length === 1 ? "" : "s"})`,
      bytes,
      how: "MEMORY USAGE of its records, summed",
    });
  }
}

/** What exactly-once costs queued events: each event_id kept a day in its counter's sorted set. */
async function eventIds(store: CounterStore, redis: Redis, rows: Footprint["rows"], count: number) {
  const events = Array.from({ length: count }, (_, i) => ({
    eventId: `evt-${String(i).padStart(8, "0")}`,
    resourceId: "queued",
    type: "view",
    kind: "total" as const,
    userId: `user_${i % 100}`,
    delta: 1,
  }));
  for (let start = 0; start < count; start += 1000)
    await store.applyEvents(events.slice(start, start + 1000), NOW);
  rows.push({
    item: `a queued event's id, kept 24 h (12-character ids, ${count.toLocaleString("en")} on a counter)`,
    bytes: round((await usage(redis, keys.eventIds("queued", "view"))) / count),
    how: `MEMORY USAGE / ${count}`,
  });
}

async function rankings(store: CounterStore, redis: Redis, rows: Footprint["rows"], members: number) {
  await apply(store, members, (i) => view(`article_${String(i).padStart(6, "0")}`, "user_0"));
  const all = await usage(redis, keys.ranking("view", "all"));
  rows.push({
    item: `ranking member (one key of ${members.toLocaleString("en")}; ×3 keys: all, hour, day; a week sums 7 days)`,
    bytes: round(all / members),
    how: `MEMORY USAGE / ${members}`,
  });
}

/** A counter's history: a hash of a field a day, written a day at a time, oldest first. */
async function histories(store: CounterStore, redis: Redis, rows: Footprint["rows"]) {
  const DAY = 24 * 3_600_000;
  for (const days of [1, 30, 128, 400]) {
    const resourceId = `history_${days}`;
    for (let d = days - 1; d >= 0; d--)
      await store.increment({ ...view(resourceId, "user_0"), now: NOW - d * DAY });
    rows.push({
      item: `a counter's history of ${days} day${days === 1 ? "" : "s"}`,
      bytes: await usage(redis, keys.history(resourceId, "view")),
      how: "MEMORY USAGE of its hash",
    });
  }
}

/** Measures on the Redis at `url`, into an empty database. */
export async function measureFootprint(
  url: string,
  scale = { members: 10_000, users: 10_000 },
): Promise<Footprint> {
  const client = createRedisClient(url, false, 5000);
  const redis = new Redis(url);
  const store = createRedisStore(client, { keyPrefix: PREFIX, timeoutMs: 5000 });
  try {
    const rows: Footprint["rows"] = [];
    await likes(store, redis, rows, scale.members);
    await userIndexes(store, redis, rows, scale.members);
    await views(store, redis, rows, scale.users);
    await keyedBatches(store, redis, rows);
    await eventIds(store, redis, rows, scale.members);
    await rankings(store, redis, rows, scale.members);
    await histories(store, redis, rows);
    return { rows };
  } finally {
    client.disconnect();
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const server = await startRedis();
  try {
    const info = new Redis(server.url);
    const version = (await info.info("server")).match(/redis_version:(\S+)/)?.[1];
    info.disconnect();
    const { rows } = await measureFootprint(server.url);
    console.log(`Measured on redis-server ${version ?? "?"} (MEMORY USAGE ... SAMPLES 0)\n`);
    console.log("| item | bytes | how |\n|---|---|---|");
    for (const row of rows) console.log(`| ${row.item} | ${row.bytes} | ${row.how} |`);
  } finally {
    await server.stop();
  }
}

runWhenCommand(import.meta.url, main);
