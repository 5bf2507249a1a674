// `npm run load -- <scenario|all> [--target URL] [--smoke] [--record --key KEY]`: runs the
// Artillery scenarios in artillery/scenarios. Without --target it starts a real Redis and
// the local server on it; with one it loads that URL (a deployed stack's ApiUrl).
// --smoke shortens every scenario to a few seconds (what CI runs). The `ensure` thresholds
// of each scenario (p99, error rate) fail the run. Artillery lives in its own package
// (artillery/, about 460 MB), installed here on first use without a browser download.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadDotEnv } from "../../../shared/runtime/env-file.ts";
import { freePort, startRedis } from "../../../tests/support/redis-server.ts";

const DIR = "artillery";
const BIN = join(DIR, "node_modules", ".bin", "artillery");
const SCENARIOS = readdirSync(join(DIR, "scenarios"))
  .filter((f) => f.endsWith(".yml"))
  .map((f) => f.replace(/\.yml$/, ""));
const SMOKE = { config: { phases: [{ name: "smoke", duration: 5, arrivalRate: 10 }] } };

/** The Artillery version artillery/package.json asks for, and the one installed (if any). */
function artilleryVersions(): { wanted: string; installed: string | undefined } {
  const read = (file: string) =>
    JSON.parse(readFileSync(file, "utf8")) as { version?: string; dependencies?: Record<string, string> };
  const wanted = read(join(DIR, "package.json")).dependencies?.artillery ?? "";
  const installedFile = join(DIR, "node_modules", "artillery", "package.json");
  return { wanted, installed: existsSync(installedFile) ? read(installedFile).version : undefined };
}

function ensureInstalled(): void {
  const { wanted, installed } = artilleryVersions();
  if (existsSync(BIN) && installed === wanted) return;
  process.stdout.write(
    `installing Artillery ${wanted} into artillery/ (once${installed ? `, replacing ${installed}` : ""})\n`,
  );
  const run = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--prefix", DIR], {
    stdio: "inherit",
    env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" },
  });
  if (run.status !== 0) throw new Error("could not install Artillery");
}

async function startLocal(): Promise<{ url: string; stop: () => Promise<void> }> {
  const redis = await startRedis();
  const port = await freePort();
  const server: ChildProcess = spawn(process.execPath, ["--import", "tsx", "shared/runtime/server.ts"], {
    env: {
      PATH: process.env.PATH ?? "",
      REDIS_URL: redis.url,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (server.exitCode !== null || Date.now() > deadline) throw new Error("the local server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: async () => {
      // The server drains (and applies its queued events) before its store goes.
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
      await redis.stop();
    },
  };
}

function runScenario(name: string, target: string, smoke: boolean, record?: string): Promise<number> {
  mkdirSync(join("dist", "load"), { recursive: true });
  const args = ["run", "--target", target, "--output", join("dist", "load", `${name}.json`)];
  if (smoke) args.push("--overrides", JSON.stringify(SMOKE));
  if (record) args.push("--record", "--key", record);
  args.push(join(DIR, "scenarios", `${name}.yml`));
  return new Promise((resolve) => {
    const child = spawn(BIN, args, { stdio: "inherit" });
    child.once("exit", (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  loadDotEnv();
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      target: { type: "string" },
      smoke: { type: "boolean" },
      record: { type: "boolean" },
      key: { type: "string" },
    },
  });
  const wanted = positionals[0] ?? "mixed";
  const names = wanted === "all" ? SCENARIOS : [wanted];
  if (!names.every((n) => SCENARIOS.includes(n))) {
    process.stderr.write(
      `usage: npm run load -- <${[...SCENARIOS, "all"].join("|")}> [--target URL] [--smoke] [--record --key KEY]\n`,
    );
    return 2;
  }
  if (values.record && !values.key) {
    process.stderr.write("--record needs --key (your Artillery Cloud key)\n");
    return 2;
  }
  ensureInstalled();
  const local = values.target ? undefined : await startLocal();
  const target = values.target ?? (local as { url: string }).url;
  const failed: string[] = [];
  try {
    for (const name of names) {
      process.stdout.write(`\n== ${name} against ${target}${values.smoke ? " (smoke)" : ""}\n`);
      if (
        (await runScenario(name, target, Boolean(values.smoke), values.record ? values.key : undefined)) !== 0
      ) {
        failed.push(name);
      }
    }
  } finally {
    await local?.stop();
  }
  // Worded unlike a test runner's "N passed, N failed": CI counts tests from that line.
  process.stdout.write(
    failed.length === 0
      ? `\nload: every scenario met its thresholds (${names.join(", ")})\n`
      : `\nload: thresholds missed by ${failed.join(", ")}\n`,
  );
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`load failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
