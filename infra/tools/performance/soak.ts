// `npm run soak`: mixed traffic against the local server on a fresh redis-server for a bounded
// time, reporting the server's memory and the store's every interval, so the next change
// that grows either shows up in numbers. The mix (by connections): half single increments
// (a fifth of them keyed), a fifth batches of 20 likes each under its own Idempotency-Key, a
// tenth queued events, the rest reads. SOAK_SECONDS (default 300) in all, SOAK_EVERY
// (default 60) seconds per row. Writes dist/soak/results.json.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import { pathOf } from "../../../shared/http/routes.ts";
import { freePort, startRedis } from "../../../tests/support/redis-server.ts";
import { runWhenCommand, startServer } from "./servers.ts";

export interface SoakRow {
  /** Seconds since the traffic started. */
  at: number;
  requests: number;
  non2xx: number;
  /** The server's resident memory (its node process), MiB. */
  serverRssMiB: number;
  /** Redis used_memory, MiB, and its keys. */
  storeMiB: number;
  storeKeys: number;
}

/** Resident memory of a process and its children (tsx runs the server as a child), MiB. */
function rssMiB(pid: number): number {
  const rss = (p: number): number => {
    try {
      const kb = Number(readFileSync(`/proc/${p}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
      const kids = readFileSync(`/proc/${p}/task/${p}/children`, "utf8")
        .split(" ")
        .filter(Boolean)
        .map(Number);
      return kb + kids.reduce((sum, k) => sum + rss(k), 0);
    } catch {
      return 0;
    }
  };
  return Math.round((rss(pid) / 1024) * 10) / 10;
}

let serial = 0;
const item = (i: number, type: string) => ({
  resource_id: `article_${i % 1000}`,
  counter_type: type,
  user_id: `user_${i % 50_000}`,
});
const json = { "content-type": "application/json" };

/** One autocannon per kind of traffic, its share of the connections. */
function mix(base: string, seconds: number, connections: number) {
  const shares: {
    share: number;
    request: () => { method: "GET" | "POST"; path: string; headers?: Record<string, string>; body?: string };
  }[] = [
    {
      share: 0.5,
      request: () => {
        const n = serial++;
        const keyed = n % 5 === 0 ? { "idempotency-key": `soak-single-${n}` } : {};
        return {
          method: "POST",
          path: pathOf("increment"),
          headers: { ...json, ...keyed },
          body: JSON.stringify(item(n, "view")),
        };
      },
    },
    {
      share: 0.2,
      request: () => {
        const n = serial++;
        const increments = Array.from({ length: 20 }, (_, j) => item(n * 20 + j, "like"));
        const headers = { ...json, "idempotency-key": `soak-batch-${n}` };
        return {
          method: "POST",
          path: pathOf("incrementMany"),
          headers,
          body: JSON.stringify({ increments }),
        };
      },
    },
    {
      share: 0.1,
      request: () => {
        const n = serial++;
        const events = Array.from({ length: 5 }, (_, j) => item(n * 5 + j, "view"));
        return {
          method: "POST",
          path: pathOf("queueEvents"),
          headers: json,
          body: JSON.stringify({ events }),
        };
      },
    },
    {
      share: 0.2,
      request: () => ({
        method: "GET",
        path: pathOf("getCounter", { resource_id: `article_${serial++ % 1000}`, counter_type: "view" }),
      }),
    },
  ];
  return shares.map(({ share, request }) =>
    autocannon({
      url: base,
      connections: Math.max(1, Math.round(connections * share)),
      duration: seconds,
      requests: [{ setupRequest: (req) => ({ ...req, ...request() }) }],
    }),
  );
}

export async function soak(options: {
  seconds: number;
  every: number;
  connections?: number;
  onRow?: (row: SoakRow) => void;
}): Promise<SoakRow[]> {
  const redis = await startRedis();
  const probe = new Redis(redis.url);
  const port = await freePort();
  const server = await startServer(
    ["shared/runtime/server.ts"],
    { REDIS_URL: redis.url, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn", WORKERS: "1" },
    `http://127.0.0.1:${port}/health`,
  );
  const rows: SoakRow[] = [];
  try {
    const started = Date.now();
    for (let at = options.every; at <= options.seconds; at += options.every) {
      const results = await Promise.all(
        mix(`http://127.0.0.1:${port}`, options.every, options.connections ?? 40),
      );
      const memory = await probe.info("memory");
      const row: SoakRow = {
        at: Math.round((Date.now() - started) / 1000),
        requests: results.reduce((n, r) => n + r.requests.total, 0),
        non2xx: results.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0),
        serverRssMiB: rssMiB(server.pid as number),
        storeMiB: Math.round((Number(memory.match(/used_memory:(\d+)/)?.[1]) / 2 ** 20) * 10) / 10,
        storeKeys: await probe.dbsize(),
      };
      rows.push(row);
      options.onRow?.(row);
    }
    return rows;
  } finally {
    probe.disconnect();
    server.kill("SIGTERM");
    await redis.stop();
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.env.SOAK_SECONDS ?? 300);
  const every = Number(process.env.SOAK_EVERY ?? 60);
  process.stdout.write(`soak: ${seconds} s of mixed traffic, a row every ${every} s\n`);
  process.stdout.write(
    "| at s | requests | non-2xx | server RSS MiB | Redis MiB | Redis keys |\n|---|---|---|---|---|---|\n",
  );
  const rows = await soak({
    seconds,
    every,
    onRow: (r) =>
      process.stdout.write(
        `| ${r.at} | ${r.requests} | ${r.non2xx} | ${r.serverRssMiB} | ${r.storeMiB} | ${r.storeKeys} |\n`,
      ),
  });
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first && last && rows.length > 1) {
    const minutes = (last.at - first.at) / 60;
    process.stdout.write(
      `per minute: server ${((last.serverRssMiB - first.serverRssMiB) / minutes).toFixed(1)} MiB, Redis ${((last.storeMiB - first.storeMiB) / minutes).toFixed(1)} MiB\n`,
    );
  }
  mkdirSync("dist/soak", { recursive: true });
  writeFileSync(
    "dist/soak/results.json",
    `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`,
  );
}

runWhenCommand(import.meta.url, main);
