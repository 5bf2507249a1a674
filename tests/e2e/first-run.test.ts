// A first run as a new user makes it: a .env file read at start (the environment wins), and
// `npm run invoke` printing only the function's answer on stdout.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../support/redis-server.ts";

const ROOT = resolve(".");
const TSX = import.meta.resolve("tsx");
const dir = mkdtempSync(join(tmpdir(), "hp-first-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the server in `dir` (where the .env is) and answers the port it says it listens on. */
async function listeningPort(env: Record<string, string>): Promise<number> {
  return Number((await listeningLine({ HOST: "127.0.0.1", ...env })).port);
}

/** Starts the server in `dir` and answers its start line, then stops it. */
function listeningLine(env: Record<string, string>): Promise<Record<string, unknown>> {
  return new Promise((resolveLine, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, join(ROOT, "shared/runtime/server.ts")], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`no listening line: ${out}`));
    }, 20_000);
    child.stdout.on("data", (chunk) => {
      out += String(chunk);
      const line = out.split("\n").find((l) => l.includes('"msg":"highpress listening"'));
      if (line) {
        clearTimeout(timer);
        child.kill();
        resolveLine(JSON.parse(line) as Record<string, unknown>);
      }
    });
  });
}

describe("a .env file in the working directory", () => {
  it("configures the server, and a real environment variable wins over it", async () => {
    const [fromFile, fromEnv] = [await freePort(), await freePort()];
    writeFileSync(join(dir, ".env"), `PORT=${fromFile}\nLOG_LEVEL=info\n`);
    expect(await listeningPort({})).toBe(fromFile);
    expect(await listeningPort({ PORT: String(fromEnv) })).toBe(fromEnv);
  }, 45_000);
});

describe("a fresh start", () => {
  it("listens on 127.0.0.1 unless HOST says otherwise, and says where and that writes are open", async () => {
    rmSync(join(dir, ".env"), { force: true });
    const port = String(await freePort());
    const local = await listeningLine({ PORT: port });
    expect(local.url).toBe(`http://127.0.0.1:${port}`);
    expect(local.reachable).toMatch(/^this machine only/);
    expect(local.writes).toMatch(/^OPEN: .*127\.0\.0\.1/);
    const everywhere = await listeningLine({ PORT: port, HOST: "0.0.0.0" });
    expect(everywhere.url).toBe(`http://0.0.0.0:${port}`);
    expect(everywhere.reachable).toMatch(/^every interface/);
  }, 45_000);
});

describe("npm run invoke", () => {
  it("prints only the function's answer on stdout, its logs on stderr", () => {
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "infra/tools/lambda/invoke.ts", "increment", "events/increment.json"],
      { env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info" }, encoding: "utf8", timeout: 60_000 },
    );
    expect(run.status).toBe(0);
    const answer = JSON.parse(run.stdout) as { statusCode: number; body: string };
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ success: true });
    expect(run.stderr).toContain('"msg":"highpress function ready"');
  }, 60_000);
});
