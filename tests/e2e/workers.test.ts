// The local server on every core: WORKERS processes on one port under a primary (node:cluster).
// /metrics counts the whole service whichever worker answers it, a worker that dies is
// replaced, SIGTERM drains them all to exit 0, and the memory store refuses more than one.

import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runNode } from "../support/node-process.ts";
import { freePort, type RedisServer, startRedis } from "../support/redis-server.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(() => redis.stop());

/** The pids of the processes whose parent is `pid`. */
const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map(Number);
  } catch {
    return [];
  }
};
const listeningPids = (output: string) =>
  output
    .split("\n")
    .filter((l) => l.includes('"highpress listening"'))
    .map((l) => JSON.parse(l).pid as number);
const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

it("serves one port from 2 workers, counts the whole service in /metrics, replaces a dead worker, drains on SIGTERM", async () => {
  const port = await freePort();
  const server = await runNode(
    ["shared/runtime/server.ts"],
    {
      REDIS_URL: redis.url,
      PORT: String(port),
      HOST: "127.0.0.1",
      WORKERS: "2",
      KEY_PREFIX: "workers",
      LOG_LEVEL: "info",
    },
    "highpress primary started",
  );
  const primary = server.process.pid as number;
  try {
    await waitFor(() => listeningPids(server.output()).length === 2, "two workers");
    const workers = listeningPids(server.output());
    expect(new Set(workers).size).toBe(2);
    // Both are the primary's children (beside any helper process of its own, such as tsx's esbuild).
    expect(childrenOf(primary)).toEqual(expect.arrayContaining(workers));

    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 60; i++) {
      const res = await fetch(`${base}/api/v1/counter/increment`, {
        method: "POST",
        headers: { "content-type": "application/json", connection: "close" },
        body: JSON.stringify({ resource_id: "w", counter_type: "like", user_id: `u${i}` }),
      });
      expect(res.status).toBe(200);
    }
    // Whichever worker answers /metrics, it counts every worker's requests.
    for (let i = 0; i < 4; i++) {
      const text = await (await fetch(`${base}/metrics`, { headers: { connection: "close" } })).text();
      expect(text).toContain(
        'highpress_requests_total{method="POST",route="/api/v1/counter/increment",status="200"} 60',
      );
    }

    // A worker that dies is replaced; the service keeps answering.
    process.kill(workers[0] as number, "SIGKILL");
    await waitFor(() => listeningPids(server.output()).length === 3, "a replacement worker");
    expect(server.output()).toContain("highpress worker exited; starting another");
    expect((await fetch(`${base}/health`, { headers: { connection: "close" } })).status).toBe(200);
  } finally {
    server.process.kill("SIGTERM");
  }
  expect(await server.exited, server.output()).toBe(0);
  expect(childrenOf(primary)).toEqual([]);
  expect(server.output()).toContain("highpress stopped");
}, 60_000);

it("leaves no worker behind when its primary is killed outright", async () => {
  const port = await freePort();
  const server = await runNode(
    ["shared/runtime/server.ts"],
    { REDIS_URL: redis.url, PORT: String(port), HOST: "127.0.0.1", WORKERS: "2", LOG_LEVEL: "info" },
    "highpress primary started",
  );
  await waitFor(() => listeningPids(server.output()).length === 2, "two workers");
  const workers = listeningPids(server.output());
  server.process.kill("SIGKILL");
  await server.exited;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await waitFor(() => workers.every((pid) => !alive(pid)), "the workers to go");
}, 30_000);

it("refuses more than one worker on the memory store, with one line naming WORKERS", async () => {
  const server = await runNode(["shared/runtime/server.ts"], {
    WORKERS: "2",
    PORT: String(await freePort()),
  });
  expect(await server.exited).toBe(1);
  expect(server.output().trim().split("\n")).toHaveLength(1);
  expect(server.output()).toMatch(
    /^highpress: Invalid configuration: WORKERS: the memory store counts inside one process: above 1 needs Redis or Upstash$/m,
  );
});
