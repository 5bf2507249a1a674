// The README's typed-client snippet, run as written: saved as counters.mts in the
// repository's folder and run with the command the README shows, with only the npm and
// machine PATH a newcomer has; and from outside the repository, its import pointed at the
// repository's path, as the README says.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeProcess, runNode } from "../support/node-process.ts";
import { freePort } from "../support/redis-server.ts";

let server: NodeProcess;
let base: string;
const dir = mkdtempSync(join(tmpdir(), "hp-readme-client-"));

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = await runNode(
    ["shared/runtime/server.ts"],
    { HOST: "127.0.0.1", PORT: String(port) },
    "highpress listening",
  );
}, 30_000);
afterAll(() => {
  server?.process.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

function readmeSnippet(): string {
  const readme = readFileSync("README.md", "utf8");
  const start = readme.indexOf("```ts\n// counters.mts");
  expect(start, "the README's client snippet").toBeGreaterThan(0);
  return readme.slice(start + "```ts\n".length, readme.indexOf("```\n", start + 6));
}

/** The command the README says runs the snippet: `npm exec -- node counters.mts`. */
function readmeCommand(): string {
  const shown = readmeSnippet().match(/^\/\/ counters\.mts: (.+?)\. /m)?.[1];
  expect(shown).toBe("npm exec -- node counters.mts");
  return shown as string;
}

describe("the README's typed-client snippet", () => {
  it("runs with the command the README shows, in the repository's folder", () => {
    const file = resolve("counters.mts");
    writeFileSync(file, readmeSnippet());
    try {
      const run = spawnSync("bash", ["-c", readmeCommand()], {
        env: { PATH: process.env.PATH ?? "", HP: base, HOME: process.env.HOME ?? "/root" },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(run.stderr).not.toMatch(/Error|error TS/);
      expect(run.status).toBe(0);
      expect(run.stdout).toContain("applied: true");
      expect(run.stdout).toMatch(/^400 Invalid request format/m);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it("runs as written from outside the repository", () => {
    const file = join(dir, "counters.mts");
    const client = resolve("shared/client/client.ts");
    writeFileSync(file, readmeSnippet().replace('"./shared/client/client.ts"', JSON.stringify(client)));
    const run = spawnSync(process.execPath, [file], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", HP: base },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.stderr).not.toMatch(/Error|error TS/);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("counter_type: 'like'");
    expect(run.stdout).toMatch(/applied: (true|false)/);
    expect(run.stdout).toMatch(/^400 Invalid request format/m);
  });
});
