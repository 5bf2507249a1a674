// `npm run peer-bench`: HighPress's local server against a Go + Gin peer with the original
// HighGoPress's increment path (go-peer/main.go), on one redis-server, per core: WORKERS=1
// against GOMAXPROCS=1, WORKERS=2 against GOMAXPROCS=2. Increments (views) from autocannon,
// 50 connections, PEER_ROUNDS (3) alternating rounds of PEER_SECONDS (5) each; medians of
// requests per second, and each side's CPU per request. Needs Go with Gin and redigo, from
// Debian: `apt-get install golang-go golang-github-gin-gonic-gin-dev golang-github-gomodule-redigo-dev`
// (the peer builds offline in GOPATH mode). Not part of CI: a measurement, not a test.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import autocannon from "autocannon";
import { freePort, startRedis } from "../../../tests/support/redis-server.ts";
import { treeCpuMs } from "./cpu.ts";
import { runWhenCommand, startServer, untilAnswering } from "./servers.ts";

const ROUNDS = Number(process.env.PEER_ROUNDS ?? 3);
const SECONDS = Number(process.env.PEER_SECONDS ?? 5);
const PEER = "dist/go-peer";

function buildPeer(): void {
  mkdirSync("dist", { recursive: true });
  const built = spawnSync("go", ["build", "-o", PEER, "./infra/tools/performance/go-peer"], {
    env: {
      ...process.env,
      GO111MODULE: "off",
      GOPATH: "/usr/share/gocode",
      GOCACHE: "/tmp/highpress-gocache",
    },
    stdio: "inherit",
  });
  if (built.error || built.status !== 0) {
    throw new Error(
      "could not build the Go peer: apt-get install golang-go golang-github-gin-gonic-gin-dev golang-github-gomodule-redigo-dev",
    );
  }
}

async function startPeer(redisPort: number, cores: number): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(PEER, [], {
    env: { REDIS_ADDR: `127.0.0.1:${redisPort}`, PORT: String(port), GOMAXPROCS: String(cores) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  await untilAnswering(`${url}/health`, child, "the Go peer", 10_000);
  return { url, child };
}

/** One run: requests per second, and the server's CPU µs per request (its process tree). */
async function run(url: string, pid: number, seconds: number): Promise<{ rps: number; cpuUs: number }> {
  let n = 0;
  const before = treeCpuMs(pid);
  const result = await autocannon({
    url,
    connections: 50,
    duration: seconds,
    requests: [
      {
        method: "POST",
        setupRequest: (req) => ({
          ...req,
          path: "/api/v1/counter/increment",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            resource_id: `r${n++ % 1000}`,
            counter_type: "view",
            user_id: "u1",
            increment: 1,
          }),
        }),
      },
    ],
  });
  const requests = result.requests.total;
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, cpuUs: ((treeCpuMs(pid) - before) * 1000) / requests };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

async function compare(redisUrl: string, redisPort: number, cores: number): Promise<string> {
  const port = await freePort();
  const highpress = await startServer(
    ["shared/runtime/server.ts"],
    { REDIS_URL: redisUrl, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "warn", WORKERS: String(cores) },
    `http://127.0.0.1:${port}/health`,
  );
  const peer = await startPeer(redisPort, cores);
  const targets = [
    { name: "highpress", url: `http://127.0.0.1:${port}`, pid: highpress.pid as number },
    { name: "go", url: peer.url, pid: peer.child.pid as number },
  ];
  try {
    for (const t of targets) await run(t.url, t.pid, 1); // warm up
    const runs: Record<string, { rps: number; cpuUs: number }[]> = { highpress: [], go: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of round % 2 === 0 ? targets : [...targets].reverse())
        runs[t.name]?.push(await run(t.url, t.pid, SECONDS));
    }
    const [h, g] = [runs.highpress ?? [], runs.go ?? []];
    const hRps = median(h.map((r) => r.rps));
    const gRps = median(g.map((r) => r.rps));
    return `| ${cores} | ${Math.round(hRps)} | ${median(h.map((r) => r.cpuUs)).toFixed(1)} | ${Math.round(gRps)} | ${median(g.map((r) => r.cpuUs)).toFixed(1)} | ${(hRps / gRps).toFixed(2)} |`;
  } finally {
    highpress.kill("SIGKILL");
    peer.child.kill("SIGKILL");
  }
}

async function main(): Promise<void> {
  buildPeer();
  const redis = await startRedis();
  const redisPort = Number(new URL(redis.url).port);
  try {
    const rows = [];
    for (const cores of [1, 2]) rows.push(await compare(redis.url, redisPort, cores));
    console.log(
      `increments (views) on one redis-server, 50 connections, ${ROUNDS} rounds of ${SECONDS} s, medians`,
    );
    console.log(
      "| WORKERS = GOMAXPROCS | HighPress req/s | HighPress CPU µs/req | Go + Gin req/s | Go CPU µs/req | HighPress / Go |",
    );
    console.log("|---|---|---|---|---|---|");
    for (const row of rows) console.log(row);
  } finally {
    await redis.stop();
  }
}

runWhenCommand(import.meta.url, main);
