// `npm run script-time`: Redis time per increment script, this checkout against another
// (BENCH_AGAINST=<checkout>, default none: this one alone). Each version's Redis store sends
// view and like increments straight to one redis-server (no HTTP, no server CPU in the way),
// the versions alternating round by round; INFO commandstats gives µs per EVALSHA and the
// part of it inside the commands the script calls. Steadier than a load test's figures:
// nothing but Redis is measured. SCRIPT_ROUNDS (default 12) of 20,000 increments each.
// Then the floor under this checkout's script: the commands it was measured to call per
// increment, sent by a script that does nothing else (same number of keys and arguments),
// the same call with no command at all, and a bare INCRBY: what is left once the script's own
// logic is gone, and so how far any rewrite of the Lua alone could take it.

import { resolve } from "node:path";
import { Redis } from "ioredis";
import type { CounterStore } from "../../../shared/domain/model.ts";
import { ITEM } from "../../../shared/stores/lua/increment.ts";
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
  /** Calls of each command other than the script's own. */
  commands: Record<string, number>;
}

const OUTSIDE = ["evalsha", "evalsha_ro", "eval", "info", "script", "config"];

async function commandStats(redis: Redis): Promise<Stats> {
  const text = await redis.info("commandstats");
  const rows = [...text.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+)/g)];
  const evalsha = rows.find((r) => r[1] === "evalsha");
  const inner = rows.filter((r) => !OUTSIDE.includes(r[1] as string));
  return {
    calls: Number(evalsha?.[2] ?? 0),
    usec: Number(evalsha?.[3] ?? 0),
    inner: inner.reduce((sum, r) => sum + Number(r[3]), 0),
    commands: Object.fromEntries(inner.map((r) => [r[1] as string, Number(r[2])])),
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
  const perCall = Object.fromEntries(
    Object.entries(after.commands).map(([name, n]) => [name, (n - (before.commands[name] ?? 0)) / calls]),
  );
  return {
    script: (after.usec - before.usec) / calls,
    inner: (after.inner - before.inner) / calls,
    perCall,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

// The floor: each command a script was measured to call, as a statement of a script that does
// nothing else. Its keys are its own (one per statement, so no two commands meet a key of the
// wrong type), as many as the increment sends, and so are the arguments.
const STATEMENTS: Record<string, (key: string) => string> = {
  incrby: (k) => `redis.call('INCRBY', ${k}, 1)`,
  pfadd: (k) => `redis.call('PFADD', ${k}, ARGV[2])`,
  hincrby: (k) => `redis.call('HINCRBY', ${k}, ARGV[3], 1)`,
  publish: (k) => `redis.call('PUBLISH', ${k}, '1')`,
  zadd: (k) => `redis.call('ZADD', ${k}, 1, ARGV[1])`,
  zincrby: (k) => `redis.call('ZINCRBY', ${k}, 1, ARGV[1])`,
  sadd: (k) => `redis.call('SADD', ${k}, ARGV[2])`,
  scard: (k) => `redis.call('SCARD', ${k})`,
};

/** The commands called once or more per increment (rounded), and those the floor cannot play. */
function floorBody(perCall: Record<string, number>): {
  body: string;
  commands: string[];
  unplayed: string[];
} {
  const commands: string[] = [];
  const unplayed: string[] = [];
  for (const [name, n] of Object.entries(perCall)) {
    const times = Math.round(n);
    if (times === 0) continue;
    if (!STATEMENTS[name]) unplayed.push(`${name} x${n.toFixed(2)}`);
    else for (let t = 0; t < times; t++) commands.push(name);
  }
  const body = commands.map((name, i) => STATEMENTS[name]?.(`KEYS[${(i % ITEM.keyCount) + 1}]`)).join("\n");
  return { body: `${body}\nreturn 1`, commands, unplayed };
}

/** µs per call of `body` under keys tagged `tag` (INFO commandstats: EVALSHA, or INCRBY with no body), the median of `rounds`. */
async function callTime(
  redis: Redis,
  tag: string,
  body: string | undefined,
  rounds: number,
): Promise<number> {
  const sha = body === undefined ? "" : ((await redis.script("LOAD", body)) as string);
  const command = body === undefined ? "incrby" : "evalsha";
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const before = await redis.info("commandstats");
    for (let start = 0; start < PER_ROUND; start += 200) {
      await Promise.all(
        Array.from({ length: 200 }, (_, j) => {
          const n = start + j;
          const keys = Array.from(
            { length: ITEM.keyCount },
            (_, k) => `floor:${tag}:${k}:article_${n % 1000}`,
          );
          const args = Array.from({ length: ITEM.argCount }, (_, a) =>
            a === 0
              ? `article_${n % 1000}`
              : a === 1
                ? `user_${n % 50_000}`
                : a === 2
                  ? "20261206"
                  : String(a),
          );
          return body === undefined
            ? redis.incrby(keys[0] as string, 1)
            : redis.evalsha(sha, keys.length, ...keys, ...args);
        }),
      );
    }
    const after = await redis.info("commandstats");
    const stat = (text: string) => text.match(new RegExp(`cmdstat_${command}:calls=(\\d+),usec=(\\d+)`));
    const [b, a] = [stat(before), stat(after)];
    times.push((Number(a?.[2] ?? 0) - Number(b?.[2] ?? 0)) / (Number(a?.[1] ?? 0) - Number(b?.[1] ?? 1)));
  }
  return median(times);
}

/**
 * The floor under this checkout's scripts, each floor measured in the same rounds as the
 * script it is the floor of (alternating): its commands alone, the call alone, a bare INCRBY.
 */
async function printFloor(store: CounterStore, redis: Redis, mixes: Map<string, Record<string, number>>) {
  const rounds = Math.max(3, Math.ceil(ROUNDS / 2));
  const rows = new Map<string, { script: number[]; floor: number[]; empty: number[]; incrby: number[] }>();
  for (let r = 0; r < rounds; r++) {
    for (const kind of KINDS) {
      const { body } = floorBody(mixes.get(kind[0]) ?? {});
      const row = rows.get(kind[0]) ?? { script: [], floor: [], empty: [], incrby: [] };
      row.script.push((await round(store, redis, kind, 100 + r)).script);
      row.floor.push(await callTime(redis, kind[0], body, 1));
      row.empty.push(await callTime(redis, "empty", "return 1", 1));
      row.incrby.push(await callTime(redis, "incrby", undefined, 1));
      rows.set(kind[0], row);
    }
  }
  console.log(
    `the floor under this checkout's scripts (${rounds} rounds, each beside the script; µs per call): the call alone is ${ITEM.keyCount} keys and ${ITEM.argCount} arguments and no command`,
  );
  for (const [kind, row] of rows) {
    const { commands, unplayed } = floorBody(mixes.get(kind) ?? {});
    const also = unplayed.length ? `; also, now and then, ${unplayed.join(", ")}` : "";
    console.log(
      `${kind.padEnd(5)} script ${median(row.script).toFixed(2)}, its ${commands.length} commands alone ${median(row.floor).toFixed(2)}, the call alone ${median(row.empty).toFixed(2)}, a bare INCRBY ${median(row.incrby).toFixed(2)} (${commands.join(", ")}${also})`,
    );
  }
}

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
    const mixes = new Map<string, Record<string, number>>();
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? stores.map((_, i) => i) : stores.map((_, i) => i).reverse();
      for (const i of order) {
        for (const kind of KINDS) {
          const { script, inner, perCall } = await round(stores[i] as CounterStore, redis, kind, r);
          if (i === 0) mixes.set(kind[0], perCall);
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
    await printFloor(stores[0] as CounterStore, redis, mixes);
  } finally {
    redis.disconnect();
    await server.stop();
  }
  process.exit(0);
}

await main();
