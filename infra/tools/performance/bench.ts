// `npm run bench`: HighPress's local server on a real Redis against two floors on the same
// Redis, with the same load generator (autocannon), in alternating runs: the bare floor
// (floor.ts: Hono + ioredis, an INCRBY per increment) and the same-work floor (same-work.ts:
// Hono + ioredis running HighPress's own store calls, no validation, no middleware). Each run
// records requests per second and, per completed request, the CPU of the server's processes
// and of redis-server (/proc) and the time inside Redis commands (INFO commandstats). Then the
// write paths (Redis µs per increment, single and batched), queued events (per event), a bare
// INCRBY's µs in the same Redis, and the Lambda path, the built increment
// bundle invoked in sequence in-process as one Lambda instance runs, against a bare Redis
// round trip. Writes dist/bench/results.json and a self-contained dist/bench/report.html.
// BENCH_SECONDS (default 5) per run, BENCH_ROUNDS (default 3) alternating rounds;
// BENCH_AGAINST=<checkout> compares with another version instead of the floors; BENCH_ONLY=like,get
// runs only the scenarios named so (and none of the later measurements).

import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import { pathOf } from "../../../shared/http/routes.ts";
import { apiGatewayEvent } from "../../../tests/support/apigw.ts";
import { freePort, startRedis } from "../../../tests/support/redis-server.ts";
import { buildBundles } from "../../bundling.ts";
import { listenerPid, treeCpuMs } from "./cpu.ts";
import { renderReport } from "./report.ts";
import { startServer } from "./servers.ts";
import { measureQueuedEvents, measureWritePaths } from "./write-paths.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/**
 * BENCH_AGAINST=<another checkout>: that checkout's HighPress server takes the floor's place,
 * so a change is measured against the code before it, alternating in one run ("floor" in the
 * output is then that server; ratios are this checkout over that one).
 */
const AGAINST = process.env.BENCH_AGAINST ? resolve(process.env.BENCH_AGAINST) : undefined;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/**
 * Seconds of every chosen scenario each target serves before any is measured: HighPress's
 * server has far more code to warm than a floor's, and without this the first scenario paid
 * for it (2026-12-06: like read 1.06x the same work second and 1.54x first).
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const GO_INCREMENTS_PER_S = 10_406;

export interface Run {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU of the server's processes per completed request, µs (/proc). */
  serverCpuUs: number;
  /** CPU of redis-server per completed request, µs (/proc): commands, networking, all of it. */
  redisCpuUs: number;
  /** Time inside Redis commands per request, µs (INFO commandstats), and per call of the busiest command. */
  redisCommandUs: number;
  busiestCommand: { name: string; usPerCall: number };
}
export interface ScenarioResult {
  name: string;
  connections: number;
  floor: Run[];
  highpress: Run[];
  floorMedian: Run;
  highpressMedian: Run;
  ratio: number;
  goal?: number;
  /** Without BENCH_AGAINST: Hono + ioredis doing HighPress's own store work, nothing else. */
  sameWork?: Run[];
  sameWorkMedian?: Run;
  /** HighPress's server CPU per request over the same-work floor's (goal at most 1.1). */
  cpuVsSameWork?: number;
  /** HighPress's requests per second over the same-work floor's (goal at least 0.9). */
  rpsVsSameWork?: number;
}

interface Scenario {
  name: string;
  connections: number;
  goal?: number;
  method: "GET" | "POST";
  path: (i: number) => string;
  body?: (i: number) => unknown;
}

const SCENARIOS: Scenario[] = [
  {
    name: "increment (view)",
    connections: 50,
    goal: 0.8,
    method: "POST",
    path: () => pathOf("increment"),
    body: (i) => ({
      resource_id: `article_${i % 1000}`,
      counter_type: "view",
      user_id: `user_${i % 5000}`,
      increment: 1,
    }),
  },
  {
    name: "like (many users)",
    connections: 50,
    goal: 0.7,
    method: "POST",
    path: () => pathOf("increment"),
    body: (i) => ({
      resource_id: `article_${i % 1000}`,
      counter_type: "like",
      user_id: `user_${i}`,
      increment: 1,
    }),
  },
  {
    name: "get",
    connections: 50,
    goal: 0.8,
    method: "GET",
    path: (i) => pathOf("getCounter", { resource_id: `article_${i % 1000}`, counter_type: "view" }),
  },
  {
    name: "batch of 100",
    connections: 50,
    method: "POST",
    path: () => pathOf("batch"),
    body: (i) => ({
      queries: Array.from({ length: 100 }, (_, j) => ({
        resource_id: `article_${(i + j) % 1000}`,
        counter_type: "view",
      })),
    }),
  },
  {
    name: "hot ranking",
    connections: 50,
    method: "GET",
    path: () => `${pathOf("hot", { counter_type: "view" })}?limit=10&period=day`,
  },
  {
    name: "hot key (one resource)",
    connections: 100,
    method: "POST",
    path: () => pathOf("increment"),
    body: (i) => ({
      resource_id: "article_hot",
      counter_type: "view",
      user_id: `user_${i % 5000}`,
      increment: 1,
    }),
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const medianRun = (runs: Run[]): Run => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  errors: runs.reduce((n, r) => n + r.errors, 0),
  serverCpuUs: median(runs.map((r) => r.serverCpuUs)),
  redisCpuUs: median(runs.map((r) => r.redisCpuUs)),
  redisCommandUs: median(runs.map((r) => r.redisCommandUs)),
  busiestCommand: runs[0]?.busiestCommand ?? { name: "none", usPerCall: 0 },
});

/** A bare INCRBY's time in Redis in this run (µs per call): what a script's time is set against. */
async function incrbyUsPerCall(redis: Redis): Promise<number> {
  await redis.config("RESETSTAT");
  await Promise.all(Array.from({ length: 20_000 }, (_, i) => redis.incrby(`bench:bare:${i % 100}`, 1)));
  const stat = (await commandStats(redis)).get("incrby");
  return stat ? stat.usec / stat.calls : Number.NaN;
}

/** A server under test: where it listens and the process whose tree's CPU it is. */
interface Target {
  url: string;
  pid: number;
}

/** INFO commandstats: calls and µs per command so far. */
async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const line of (await redis.info("commandstats")).split("\n")) {
    const m = line.match(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/);
    if (m) stats.set(m[1] as string, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return stats;
}

/** What Redis did between two commandstats readings: µs in all commands, and the busiest one. */
function commandDelta(before: Map<string, { calls: number; usec: number }>, after: typeof before) {
  let usec = 0;
  let busiest = { name: "none", usec: 0, calls: 0 };
  for (const [name, a] of after) {
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    const d = { name, usec: a.usec - b.usec, calls: a.calls - b.calls };
    if (name === "info") continue;
    usec += d.usec;
    if (d.usec > busiest.usec) busiest = d;
  }
  return {
    usec,
    busiest: { name: busiest.name, usPerCall: busiest.calls ? busiest.usec / busiest.calls : 0 },
  };
}

/** One load run against a target, with the CPU it and Redis spent per completed request. */
async function measured(
  target: Target,
  scenario: Scenario,
  seconds: number,
  store: StoreProbe,
): Promise<Run> {
  const cpu = treeCpuMs(target.pid);
  const redisCpu = treeCpuMs(store.pid);
  const stats = await commandStats(store.client);
  const { run, total } = await load(target.url, scenario, seconds);
  const requests = Math.max(1, total);
  const commands = commandDelta(stats, await commandStats(store.client));
  return {
    ...run,
    serverCpuUs: ((treeCpuMs(target.pid) - cpu) * 1000) / requests,
    redisCpuUs: ((treeCpuMs(store.pid) - redisCpu) * 1000) / requests,
    redisCommandUs: commands.usec / requests,
    busiestCommand: commands.busiest,
  };
}

interface StoreProbe {
  pid: number;
  client: Redis;
}

async function load(
  base: string,
  scenario: Scenario,
  seconds: number,
): Promise<{
  run: Omit<Run, "serverCpuUs" | "redisCpuUs" | "redisCommandUs" | "busiestCommand">;
  total: number;
}> {
  let i = 0;
  const result = await autocannon({
    url: base,
    connections: scenario.connections,
    duration: seconds,
    requests: [
      {
        method: scenario.method,
        setupRequest: (req) => {
          const n = i++;
          const body = scenario.body?.(n);
          return {
            ...req,
            path: scenario.path(n),
            ...(body === undefined
              ? {}
              : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
          };
        },
      },
    ],
  });
  return {
    run: {
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors + result.non2xx + result.timeouts,
    },
    total: result.requests.total,
  };
}

async function lambdaPath(redisUrl: string) {
  const N = Number(process.env.BENCH_LAMBDA_INVOCATIONS ?? 3000);
  Object.assign(process.env, { REDIS_URL: redisUrl, KEY_PREFIX: "benchlambda", LOG_LEVEL: "warn" });
  const [bundle] = await buildBundles("dist/bench", "redis", ["IncrementFunction"]);
  if (!bundle) throw new Error("no bundle");
  // The function's EMF lines go to /dev/null: a real write, as Lambda's stdout is.
  const devNull = openSync("/dev/null", "w");
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    if (typeof chunk === "string") writeSync(devNull, chunk);
    else writeSync(devNull, chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    const { handler } = (await import(pathToFileURL(resolve(bundle.file)).href)) as {
      handler: (e: unknown, c: unknown) => Promise<{ statusCode: number }>;
    };
    const events = Array.from({ length: 100 }, (_, i) =>
      apiGatewayEvent({
        method: "POST",
        path: pathOf("increment"),
        body: { resource_id: `article_${i}`, counter_type: "view", user_id: `user_${i}`, increment: 1 },
      }),
    );
    const context = {
      awsRequestId: "bench",
      functionName: "IncrementFunction",
      getRemainingTimeInMillis: () => 10_000,
    };
    const handlerMs: number[] = [];
    for (let i = 0; i < N; i++) {
      const started = performance.now();
      const res = await handler(events[i % events.length], context);
      handlerMs.push(performance.now() - started);
      if (res.statusCode !== 200) throw new Error(`invocation answered ${res.statusCode}`);
    }
    const redis = new Redis(redisUrl);
    const redisMs: number[] = [];
    for (let i = 0; i < N; i++) {
      const started = performance.now();
      await redis.incrby(`benchlambda:bare:${i % 100}`, 1);
      redisMs.push(performance.now() - started);
    }
    redis.disconnect();
    const pct = (xs: number[], p: number) =>
      [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)] ?? Number.NaN;
    const skip = Math.floor(N / 10); // the first tenth warms up the JIT and the connection
    const h = handlerMs.slice(skip);
    const r = redisMs.slice(skip);
    return {
      invocations: N,
      handler: { p50: pct(h, 0.5), p99: pct(h, 0.99) },
      redis: { p50: pct(r, 0.5), p99: pct(r, 0.99) },
      overheadP50: pct(h, 0.5) - pct(r, 0.5),
      goalOverheadP50: 0.3,
    };
  } finally {
    process.stdout.write = write;
  }
}

/** The servers compared: HighPress, and the floors (or, with BENCH_AGAINST, the other checkout). */
async function startTargets(redisUrl: string, servers: ChildProcess[]): Promise<Record<string, Target>> {
  // One process each: the floors are one process, and ratios compare like with like (WORKERS).
  const common = { REDIS_URL: redisUrl, HOST: "127.0.0.1", LOG_LEVEL: "warn", WORKERS: "1" };
  const start = async (
    name: string,
    script: string,
    env: Record<string, string>,
    ready: string,
    cwd?: string,
  ) => {
    const port = await freePort();
    const child = await startServer(
      [script],
      { ...common, ...env, PORT: String(port) },
      `http://127.0.0.1:${port}${ready}`,
      cwd,
    );
    servers.push(child);
    return [name, { url: `http://127.0.0.1:${port}`, pid: child.pid as number }] as const;
  };
  const read = pathOf("getCounter", { resource_id: "a", counter_type: "view" });
  const targets = [await start("highpress", "shared/runtime/server.ts", { KEY_PREFIX: "bench" }, "/health")];
  if (AGAINST) {
    const script = existsSync(join(AGAINST, "shared/runtime/server.ts"))
      ? "shared/runtime/server.ts"
      : "shared/server.ts";
    targets.push(await start("floor", script, { KEY_PREFIX: "benchbase" }, "/health", AGAINST));
  } else {
    targets.push(await start("floor", "infra/tools/performance/floor.ts", {}, read));
    targets.push(
      await start("sameWork", "infra/tools/performance/same-work.ts", { KEY_PREFIX: "samework" }, read),
    );
  }
  return Object.fromEntries(targets);
}

/** A scenario's alternating rounds over every target, with the medians and ratios. */
async function runScenario(
  scenario: Scenario,
  targets: Record<string, Target>,
  store: StoreProbe,
): Promise<ScenarioResult> {
  const names = Object.keys(targets);
  for (const name of names) await load((targets[name] as Target).url, scenario, 1); // JIT, connections, data
  const runs: Record<string, Run[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order)
      runs[name]?.push(await measured(targets[name] as Target, scenario, SECONDS, store));
  }
  const floorMedian = medianRun(runs.floor ?? []);
  const highpressMedian = medianRun(runs.highpress ?? []);
  const sameWork = runs.sameWork;
  const sameWorkMedian = sameWork ? medianRun(sameWork) : undefined;
  return {
    name: scenario.name,
    connections: scenario.connections,
    floor: runs.floor ?? [],
    highpress: runs.highpress ?? [],
    floorMedian,
    highpressMedian,
    ratio: highpressMedian.rps / floorMedian.rps,
    ...(scenario.goal ? { goal: scenario.goal } : {}),
    ...(sameWork && sameWorkMedian
      ? {
          sameWork,
          sameWorkMedian,
          cpuVsSameWork: highpressMedian.serverCpuUs / sameWorkMedian.serverCpuUs,
          rpsVsSameWork: highpressMedian.rps / sameWorkMedian.rps,
        }
      : {}),
  };
}

const us = (n: number | undefined) => (n === undefined ? "-" : n.toFixed(1).padStart(6));

function printScenario(r: ScenarioResult): void {
  const row = (who: string, m: Run | undefined) =>
    m
      ? `  ${who.padEnd(10)} ${m.rps.toFixed(0).padStart(6)}/s  server ${us(m.serverCpuUs)} µs/req  redis ${us(m.redisCpuUs)} µs/req (in commands ${us(m.redisCommandUs)}; ${m.busiestCommand.name} ${us(m.busiestCommand.usPerCall)} µs/call)  p50 ${m.p50} p99 ${m.p99} ms\n`
      : "";
  process.stdout.write(
    `${r.name}: highpress/${AGAINST ? "before" : "floor"} ${r.ratio.toFixed(2)}${
      r.cpuVsSameWork === undefined
        ? ""
        : `; vs same work: CPU ${r.cpuVsSameWork.toFixed(2)}x (goal <= 1.1), rate ${r.rpsVsSameWork?.toFixed(2)}x (goal >= 0.9)`
    }\n${row("highpress", r.highpressMedian)}${row(AGAINST ? "before" : "floor", r.floorMedian)}${row("same work", r.sameWorkMedian)}`,
  );
}

/** BENCH_ONLY=like,get: the scenarios whose name holds one of these words, and nothing after them. */
const ONLY = process.env.BENCH_ONLY?.split(",").filter(Boolean);
const chosenScenarios = () =>
  ONLY ? SCENARIOS.filter((s) => ONLY.some((w) => s.name.includes(w))) : SCENARIOS;

async function main(): Promise<void> {
  const redis = await startRedis();
  const servers: ChildProcess[] = [];
  const probe: StoreProbe = { pid: listenerPid(redis.port) ?? 0, client: new Redis(redis.url) };
  try {
    await probe.client.zadd(
      "floor:rank:view",
      ...Array.from({ length: 1000 }, (_, i) => [i, `article_${i}`]).flat(),
    );
    const targets = await startTargets(redis.url, servers);
    for (const scenario of chosenScenarios())
      for (const target of Object.values(targets)) await load(target.url, scenario, WARMUP_SECONDS);
    const results: ScenarioResult[] = [];
    for (const scenario of chosenScenarios()) {
      const result = await runScenario(scenario, targets, probe);
      results.push(result);
      printScenario(result);
    }
    if (ONLY) return;
    const spread = results.find((r) => r.name === "increment (view)");
    const hot = results.find((r) => r.name.startsWith("hot key"));
    const hotVsSpread = hot && spread ? hot.highpressMedian.rps / spread.highpressMedian.rps : Number.NaN;
    process.stdout.write(`hot key / spread keys: ${hotVsSpread.toFixed(2)} (goal 0.8)\n`);
    const highpress = targets.highpress as Target;
    const writePaths = await measureWritePaths(
      highpress.url,
      (_base, scenario, seconds) => measured(highpress, scenario, seconds, probe),
      SECONDS,
      ROUNDS,
    );
    for (const w of writePaths)
      process.stdout.write(
        `write path: ${w.name.padEnd(18)} ${String(w.incrementsPerSecond).padStart(8)} increments/s  (${w.ratio.toFixed(1)}x single), redis ${w.redisUsPerItem.toFixed(2)} µs per increment\n`,
      );
    const allCommandsUs = async () =>
      [...(await commandStats(probe.client)).values()].reduce((n, c) => n + c.usec, 0);
    const queuedEvents = await measureQueuedEvents(redis.url, allCommandsUs);
    for (const q of queuedEvents)
      process.stdout.write(
        `queued events over ${String(q.distinctCounters).padStart(4)} counters: ${q.storeCalls} store calls for ${q.events} events (${q.callsPerEvent.toFixed(4)} per event), ${q.eventsPerSecond} events/s applied, redis ${q.redisUsPerEvent.toFixed(2)} µs per event\n`,
      );
    const incrby = await incrbyUsPerCall(probe.client);
    process.stdout.write(`bare INCRBY in this run: ${incrby.toFixed(2)} µs per call (INFO commandstats)\n`);
    const lambda = await lambdaPath(redis.url);
    process.stdout.write(
      `lambda path: handler p50 ${lambda.handler.p50.toFixed(3)} ms p99 ${lambda.handler.p99.toFixed(3)} ms; redis p50 ${lambda.redis.p50.toFixed(3)} ms; overhead p50 ${lambda.overheadP50.toFixed(3)} ms (goal 0.3)\n`,
    );
    const report = {
      date: new Date().toISOString(),
      machine: {
        cpu: cpus()[0]?.model ?? "unknown",
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      settings: {
        secondsPerRun: SECONDS,
        rounds: ROUNDS,
        loadGenerator: "autocannon, same process for both",
      },
      goInvocationsPerSecond: GO_INCREMENTS_PER_S,
      scenarios: results,
      hotKeyVsSpread: hotVsSpread,
      writePaths,
      queuedEvents,
      incrbyUsPerCall: incrby,
      lambda,
    };
    mkdirSync("dist/bench", { recursive: true });
    writeFileSync("dist/bench/results.json", `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync("dist/bench/report.html", renderReport(report));
    process.stdout.write("wrote dist/bench/results.json and dist/bench/report.html\n");
  } finally {
    probe.client.disconnect();
    for (const s of servers) s.kill("SIGTERM");
    await redis.stop();
  }
  process.exit(0);
}

await main();
