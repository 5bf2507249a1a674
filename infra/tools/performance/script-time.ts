// `npm run script-time`: Redis time per increment script, this checkout against another
// (BENCH_AGAINST=<checkout>, default none: this one alone). Each version's Redis store sends
// view and like increments straight to one redis-server (no HTTP, no server CPU in the way),
// the versions alternating round by round; INFO commandstats gives µs per EVALSHA and the
// part of it inside the commands the script calls. Steadier than a load test's figures:
// nothing but Redis is measured. SCRIPT_ROUNDS (default 12) of 20,000 increments each.

import { resolve } from "node:path";
import { Redis } from "ioredis";
import type { CounterStore } from "../../../shared/domain/model.ts";
import { startRedis } from "../../../tests/support/redis-server.ts";

const ROUNDS = Number(process.env.SCRIPT_ROUNDS ?? 12);
const PER_ROUND = 20_000;
const KINDS = [
  ["view", "total"],
  ["like", "unique"],
] as const;

interface Stats {
  calls: number;
  usec: number;
  inner: number;
}

async function commandStats(redis: Redis): Promise<Stats> {
  const text = await redis.info("commandstats");
  const rows = [...text.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+)/g)];
  const evalsha = rows.find((r) => r[1] === "evalsha");
  const inner = rows.filter((r) => !["evalsha", "evalsha_ro", "info"].includes(r[1] as string));
  return {
    calls: Number(evalsha?.[2] ?? 0),
    usec: Number(evalsha?.[3] ?? 0),
    inner: inner.reduce((sum, r) => sum + Number(r[3]), 0),
  };
}

async function storeOf(checkout: string, url: string, prefix: string): Promise<CounterStore> {
  const { createRedisClient, createRedisStore } = await import(`${checkout}/shared/stores/redis.ts`);
  return createRedisStore(createRedisClient(url, false, 5000), { keyPrefix: prefix, timeoutMs: 5000 });
}

/** One round of one kind: µs per EVALSHA and inside its commands. */
async function round(store: CounterStore, redis: Redis, kind: (typeof KINDS)[number], salt: number) {
  const before = await commandStats(redis);
  for (let start = 0; start < PER_ROUND; start += 200) {
    await Promise.all(
      Array.from({ length: 200 }, (_, j) => {
        const n = start + j;
        const [type, counterKind] = kind;
        const userId = `user_${(n * 7 + salt) % 50_000}`;
        return store.increment({
          resourceId: `article_${n % 1000}`,
          type,
          kind: counterKind,
          userId,
          delta: 1,
          now: Date.now(),
        });
      }),
    );
  }
  const after = await commandStats(redis);
  const calls = after.calls - before.calls;
  return { script: (after.usec - before.usec) / calls, inner: (after.inner - before.inner) / calls };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function main(): Promise<void> {
  const checkouts = [
    process.cwd(),
    ...(process.env.BENCH_AGAINST ? [resolve(process.env.BENCH_AGAINST)] : []),
  ];
  const server = await startRedis();
  const redis = new Redis(server.url);
  try {
    const stores = await Promise.all(checkouts.map((c, i) => storeOf(c, server.url, `v${i}`)));
    const results = new Map<string, { script: number[]; inner: number[] }>();
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? stores.map((_, i) => i) : stores.map((_, i) => i).reverse();
      for (const i of order) {
        for (const kind of KINDS) {
          const { script, inner } = await round(stores[i] as CounterStore, redis, kind, r);
          const key = `${i === 0 ? "this" : "that"} ${kind[0]}`;
          const entry = results.get(key) ?? { script: [], inner: [] };
          entry.script.push(script);
          entry.inner.push(inner);
          results.set(key, entry);
        }
      }
    }
    console.log(`${ROUNDS} rounds of ${PER_ROUND} increments; medians, µs per EVALSHA (inside its commands)`);
    for (const [key, v] of results) {
      console.log(`${key.padEnd(10)} ${median(v.script).toFixed(2)} (${median(v.inner).toFixed(2)})`);
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }
  process.exit(0);
}

await main();
