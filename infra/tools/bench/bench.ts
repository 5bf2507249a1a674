// `npm run bench`: HighPress's local server on a real Redis against the floor
// (infra/bench/floor.ts, hand-written Hono + ioredis) on the same Redis, with the same load
// generator (autocannon), in alternating runs; then the Lambda path, the built increment
// bundle invoked in sequence in-process as one Lambda instance runs, against a bare Redis
// round trip. Writes dist/bench/results.json and a self-contained dist/bench/report.html.
// BENCH_SECONDS (default 5) per run, BENCH_ROUNDS (default 3) alternating rounds;
// BENCH_AGAINST=<checkout> compares with another version instead of the floor.

import { type ChildProcess, spawn } from "node:child_process";
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
import { renderReport } from "./report.ts";
import { measureQueuedEvents, measureWritePaths } from "./write-paths.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/**
 * BENCH_AGAINST=<another checkout>: that checkout's HighPress server takes the floor's place,
 * so a change is measured against the code before it, alternating in one run ("floor" in the
 * output is then that server; ratios are this checkout over that one).
 */
const AGAINST = process.env.BENCH_AGAINST ? resolve(process.env.BENCH_AGAINST) : undefined;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const GO_INCREMENTS_PER_S = 10_406;

export interface Run {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
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
});

async function load(base: string, scenario: Scenario, seconds: number): Promise<Run> {
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
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

/** Starts a server as a child process and waits until `readyUrl` answers. */
async function startServer(
  args: string[],
  env: Record<string, string>,
  readyUrl: string,
  cwd = process.cwd(),
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args[0]} exited ${child.exitCode}`);
    try {
      if ((await fetch(readyUrl)).status < 500) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${args[0]} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
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

async function main(): Promise<void> {
  const redis = await startRedis();
  const floorPort = await freePort();
  const hpPort = await freePort();
  const servers: ChildProcess[] = [];
  try {
    const seed = new Redis(redis.url);
    await seed.zadd("floor:rank:view", ...Array.from({ length: 1000 }, (_, i) => [i, `article_${i}`]).flat());
    seed.disconnect();
    servers.push(
      await (AGAINST
        ? startServer(
            [
              existsSync(join(AGAINST, "shared/runtime/server.ts"))
                ? "shared/runtime/server.ts"
                : "shared/server.ts",
            ],
            {
              REDIS_URL: redis.url,
              PORT: String(floorPort),
              HOST: "127.0.0.1",
              LOG_LEVEL: "warn",
              KEY_PREFIX: "benchbase",
            },
            `http://127.0.0.1:${floorPort}/health`,
            AGAINST,
          )
        : startServer(
            ["infra/tools/bench/floor.ts"],
            { REDIS_URL: redis.url, PORT: String(floorPort) },
            `http://127.0.0.1:${floorPort}${pathOf("getCounter", { resource_id: "a", counter_type: "view" })}`,
          )),
      await startServer(
        ["shared/runtime/server.ts"],
        {
          REDIS_URL: redis.url,
          PORT: String(hpPort),
          HOST: "127.0.0.1",
          LOG_LEVEL: "warn",
          KEY_PREFIX: "bench",
        },
        `http://127.0.0.1:${hpPort}/health`,
      ),
    );
    const targets = { floor: `http://127.0.0.1:${floorPort}`, highpress: `http://127.0.0.1:${hpPort}` };
    const results: ScenarioResult[] = [];
    for (const scenario of SCENARIOS) {
      // Warm-up: JIT, connections, and data for the reads.
      await load(targets.floor, scenario, 1);
      await load(targets.highpress, scenario, 1);
      const runs = { floor: [] as Run[], highpress: [] as Run[] };
      for (let round = 0; round < ROUNDS; round++) {
        const order: ("floor" | "highpress")[] =
          round % 2 === 0 ? ["floor", "highpress"] : ["highpress", "floor"];
        for (const who of order) runs[who].push(await load(targets[who], scenario, SECONDS));
      }
      const floorMedian = medianRun(runs.floor);
      const highpressMedian = medianRun(runs.highpress);
      const result: ScenarioResult = {
        name: scenario.name,
        connections: scenario.connections,
        ...runs,
        floorMedian,
        highpressMedian,
        ratio: highpressMedian.rps / floorMedian.rps,
        ...(scenario.goal ? { goal: scenario.goal } : {}),
      };
      results.push(result);
      process.stdout.write(
        `${scenario.name.padEnd(24)} floor ${floorMedian.rps.toFixed(0).padStart(6)}/s  highpress ${highpressMedian.rps
          .toFixed(0)
          .padStart(
            6,
          )}/s  ratio ${result.ratio.toFixed(2)}  p50 ${highpressMedian.p50} ms  p99 ${highpressMedian.p99} ms\n`,
      );
    }
    const spread = results.find((r) => r.name === "increment (view)");
    const hot = results.find((r) => r.name.startsWith("hot key"));
    const hotVsSpread = hot && spread ? hot.highpressMedian.rps / spread.highpressMedian.rps : Number.NaN;
    process.stdout.write(`hot key / spread keys: ${hotVsSpread.toFixed(2)} (goal 0.8)\n`);
    const writePaths = await measureWritePaths(targets.highpress, load, SECONDS, ROUNDS);
    for (const w of writePaths)
      process.stdout.write(
        `write path: ${w.name.padEnd(18)} ${String(w.incrementsPerSecond).padStart(8)} increments/s  (${w.ratio.toFixed(1)}x single)\n`,
      );
    const queuedEvents = await measureQueuedEvents(redis.url);
    for (const q of queuedEvents)
      process.stdout.write(
        `queued events over ${String(q.distinctCounters).padStart(4)} counters: ${q.storeCalls} store calls for ${q.events} events (${q.callsPerEvent.toFixed(4)} per event), ${q.eventsPerSecond} events/s applied\n`,
      );
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
      lambda,
    };
    mkdirSync("dist/bench", { recursive: true });
    writeFileSync("dist/bench/results.json", `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync("dist/bench/report.html", renderReport(report));
    process.stdout.write("wrote dist/bench/results.json and dist/bench/report.html\n");
  } finally {
    for (const s of servers) s.kill("SIGTERM");
    await redis.stop();
  }
  process.exit(0);
}

await main();
