// `npm run live-delay`: how live counts perform on one redis-server with two local servers
// (WORKERS=1 each). Writes go through one server, streams are read from the other, so every
// push crosses processes through Redis. Reported:
// - the push delay, write to event, p50/p99: a quiet counter (one write every 1.5 s, so the
//   interval never holds a push back) and a hot one (a write every 20 ms: the interval holds
//   each push up to LIVE_INTERVAL_MS, which is the point);
// - what open streams cost the server that holds them: its resident memory with LIVE_STREAMS
//   (default 5,000) streams over 100 counters, against none.

import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { freePort, startRedis } from "../../../tests/support/redis-server.ts";
import { runWhenCommand, startServer } from "./servers.ts";

const STREAMS = Number(process.env.LIVE_STREAMS ?? 5000);
const QUIET_WRITES = Number(process.env.LIVE_QUIET_WRITES ?? 20);
const HOT_MS = Number(process.env.LIVE_HOT_MS ?? 10_000);

/** An SSE stream read with node:http (light enough for thousands): calls onCount per event. */
function stream(base: string, path: string, onCount: (count: number) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let at = buffer.indexOf("\n\n");
        while (at >= 0) {
          const data = /^data: (.*)$/m.exec(buffer.slice(0, at))?.[1];
          if (data) onCount((JSON.parse(data) as { count: number }).count);
          buffer = buffer.slice(at + 2);
          at = buffer.indexOf("\n\n");
        }
      });
      resolve(() => req.destroy());
    });
    req.on("error", reject);
    req.end();
  });
}

const increment = (base: string, resource: string) =>
  fetch(`${base}/api/v1/counter/increment`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ resource_id: resource, counter_type: "view", user_id: "u", increment: 1 }),
  }).then((r) => r.json() as Promise<{ data: { count: number } }>);

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

/** Write-to-event delays of one counter written every `everyMs` for `count` writes. */
async function delays(writer: string, reader: string, resource: string, everyMs: number, count: number) {
  const sentAt = new Map<number, number>();
  const delay: number[] = [];
  const stop = await stream(reader, `/api/v1/counter/${resource}/view/live`, (n) => {
    const at = sentAt.get(n);
    if (at !== undefined) delay.push(performance.now() - at);
  });
  // Writes one at a time to a counter that starts at 0: the i-th makes the count i. Its time
  // is taken before it is sent (the event may arrive before the write's own answer).
  for (let i = 1; i <= count; i++) {
    sentAt.set(i, performance.now());
    const { data } = await increment(writer, resource);
    if (data.count !== i) throw new Error(`expected count ${i}, got ${data.count}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  await new Promise((r) => setTimeout(r, 1500));
  stop();
  return { pushes: delay.length, p50: percentile(delay, 50), p99: percentile(delay, 99) };
}

const rssKiB = (child: ChildProcess) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? Number.NaN);

async function main(): Promise<void> {
  const redis = await startRedis();
  const servers: ChildProcess[] = [];
  try {
    const env = (port: number) => ({
      REDIS_URL: redis.url,
      PORT: String(port),
      WORKERS: "1",
      LOG_LEVEL: "error",
      LIVE_MAX_PER_ADDRESS: String(STREAMS + 100),
      MAX_CONNECTIONS: String(STREAMS + 1000),
    });
    const [p1, p2] = [await freePort(), await freePort()];
    const writer = `http://127.0.0.1:${p1}`;
    const reader = `http://127.0.0.1:${p2}`;
    servers.push(await startServer(["shared/runtime/server.ts"], env(p1), `${writer}/health`));
    servers.push(await startServer(["shared/runtime/server.ts"], env(p2), `${reader}/health`));
    const quiet = await delays(writer, reader, "quiet", 1500, QUIET_WRITES);
    const hot = await delays(writer, reader, "hot", 20, HOT_MS / 20);
    console.log(`| push delay, write to event | pushes | p50 ms | p99 ms |`);
    console.log(`|---|---|---|---|`);
    console.log(
      `| a quiet counter (a write every 1.5 s) | ${quiet.pushes} | ${quiet.p50.toFixed(1)} | ${quiet.p99.toFixed(1)} |`,
    );
    console.log(
      `| a hot counter (a write every 20 ms, LIVE_INTERVAL_MS 1000) | ${hot.pushes} | ${hot.p50.toFixed(1)} | ${hot.p99.toFixed(1)} |`,
    );

    const held = servers[1] as ChildProcess;
    await new Promise((r) => setTimeout(r, 1000));
    const before = rssKiB(held);
    const stops: (() => void)[] = [];
    for (let i = 0; i < STREAMS; i++)
      stops.push(await stream(reader, `/api/v1/counter/r${i % 100}/view/live`, () => {}));
    await new Promise((r) => setTimeout(r, 2000));
    const after = rssKiB(held);
    console.log(
      `\n${STREAMS.toLocaleString("en")} streams over 100 counters: the server's RSS ${(before / 1024).toFixed(1)} MiB -> ${(after / 1024).toFixed(1)} MiB, ${(((after - before) * 1024) / STREAMS / 1024).toFixed(1)} KiB a stream`,
    );
    for (const stop of stops) stop();
  } finally {
    for (const s of servers) s.kill("SIGKILL");
    await redis.stop();
  }
}

runWhenCommand(import.meta.url, main);
