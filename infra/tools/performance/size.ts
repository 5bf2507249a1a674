// `npm run size`: builds every function bundle for both stores and prints its size and its
// cold start: the time from a Node process's start until the bundle is imported and the
// function's init is complete (config, store client, one round trip to a local store),
// against the same reading at the first line of an empty module, both after what Lambda's
// runtime loads before a function (node:http); medians of repeated runs.
// Process exit is not counted: Lambda freezes an environment after init, it does not exit
// (and on Node 20 the teardown after a first fetch() alone takes tens of ms). Each run has
// the NODE_OPTIONS a deployed function has (`--source-maps` measures the opt-in source maps).
// Budgets: BUNDLE_BUDGET_KIB (infra/bundling.ts; the command fails over them),
// +50 ms over bare node (a warning only: on a loaded machine the timing swings by 100 ms).

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { startRedis } from "../../../tests/support/redis-server.ts";
import { startUpstashEndpoint } from "../../../tests/support/upstash-endpoint.ts";
import { BUNDLE_BUDGET_KIB, buildBundles, type DeployedStore, deployedNodeOptions } from "../../bundling.ts";

const RUNS = Number(process.env.SIZE_RUNS ?? 15);
const BUDGET_MS = 50;
const SOURCE_MAPS = process.argv.includes("--source-maps");
const NODE_OPTIONS = deployedNodeOptions(SOURCE_MAPS);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/**
 * Runs an ES module in a fresh Node process and returns the milliseconds since that
 * process started at which the module printed its reading. Asynchronous: the local Upstash
 * endpoint lives in this process and must keep answering.
 */
function readyAtMs(code: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
      env: NODE_OPTIONS ? { ...env, NODE_OPTIONS } : env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 30_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk);
    });
    child.once("exit", (code) => {
      const reading = Number(stdout.trim().split("\n").pop());
      if (code === 0 && Number.isFinite(reading)) resolvePromise(reading);
      else reject(new Error(`cold start run exited ${code}: ${stderr || stdout}`));
    });
  });
}

// What Lambda's runtime has loaded before it imports a function (its Runtime API client
// requires node:http: aws-lambda-nodejs-runtime-interface-client, src/RAPIDClient.js), so
// both readings start from it and the difference is the function's own.
const RUNTIME_PRELUDE = 'process.getBuiltinModule("node:http");';
const PRINT_AND_EXIT = "process.stdout.write(String(performance.now())); process.exit(0);";

async function main(): Promise<void> {
  const redis = await startRedis();
  const upstash = await startUpstashEndpoint(redis.url);
  const envFor: Record<DeployedStore, NodeJS.ProcessEnv> = {
    redis: { PATH: process.env.PATH, REDIS_URL: redis.url, LOG_LEVEL: "error" },
    upstash: {
      PATH: process.env.PATH,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      LOG_LEVEL: "error",
    },
  };
  const rows: string[][] = [];
  let overSize = 0;
  let overTime = 0;
  try {
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++)
      bare.push(await readyAtMs(`${RUNTIME_PRELUDE} ${PRINT_AND_EXIT}`, { PATH: process.env.PATH }));
    const bareMs = median(bare);
    for (const store of ["upstash", "redis"] as const) {
      for (const bundle of await buildBundles("dist/size", store)) {
        const url = JSON.stringify(`file://${resolve(bundle.file)}`);
        const loader = `${RUNTIME_PRELUDE} const m = await import(${url}); if (typeof m.handler !== "function") process.exit(3); ${PRINT_AND_EXIT}`;
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) times.push(await readyAtMs(loader, envFor[store]));
        const kib = bundle.bytes / 1024;
        const gzipKib = gzipSync(readFileSync(bundle.file)).length / 1024;
        const extra = median(times) - bareMs;
        const sizeOk = kib <= BUNDLE_BUDGET_KIB[store];
        if (!sizeOk) overSize++;
        if (extra > BUDGET_MS) overTime++;
        rows.push([
          bundle.id,
          store,
          kib.toFixed(1),
          gzipKib.toFixed(1),
          `${BUNDLE_BUDGET_KIB[store]}`,
          sizeOk ? "ok" : "OVER",
          median(times).toFixed(0),
          `${extra.toFixed(0)} (${(Math.min(...times) - bareMs).toFixed(0)} to ${(Math.max(...times) - bareMs).toFixed(0)})`,
          extra <= BUDGET_MS ? "ok" : "warn",
        ]);
      }
    }
    const header = [
      "function",
      "store",
      "KiB",
      "gzip KiB",
      "budget KiB",
      "size",
      "ready at ms",
      "over bare node ms (range)",
      `+${BUDGET_MS} ms`,
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
    process.stdout.write(
      [
        `Bundles: minified ESM, source map files not counted; run with NODE_OPTIONS=${NODE_OPTIONS ?? "(unset)"} as deployed${SOURCE_MAPS ? " with -c sourceMaps=true" : ""}. Cold start: ms from process start to handler ready; bare node reaches an empty module at ${bareMs.toFixed(0)} ms (medians of ${RUNS}, range over the runs).`,
        line(header),
        line(widths.map((w) => "-".repeat(w))),
        ...rows.map(line),
        "",
      ].join("\n"),
    );
  } finally {
    await upstash.close();
    await redis.stop();
  }
  if (overTime > 0) {
    process.stderr.write(
      `warning: ${overTime} bundle(s) load more than ${BUDGET_MS} ms slower than bare node (median); timings on a busy machine swing widely, so this does not fail the command\n`,
    );
  }
  if (overSize > 0) {
    process.stderr.write(`${overSize} bundle(s) over their size budget\n`);
    process.exitCode = 1;
  }
}

await main();
