// The README's "Try it" and operator blocks, run as a newcomer would: each command in order
// against a fresh server started as the README says, each shown answer compared with what
// came back. Plus what the README states that the code could contradict: the two commands,
// the settings it names, the outputs of a deploy, the files its commands write.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { type NodeProcess, runNode } from "../support/node-process.ts";
import { freePort } from "../support/redis-server.ts";

const README = readFileSync("README.md", "utf8");

interface Step {
  command: string;
  /** The answer shown below the command, when one is. */
  expected?: string;
}

/** The first ```sh block after `marker`, as commands with the answers shown below them. */
function steps(markdown: string, marker: string): { steps: Step[]; variables: Record<string, string> } {
  const at = markdown.indexOf(marker);
  expect(at, marker).toBeGreaterThanOrEqual(0);
  const start = markdown.indexOf("```sh\n", at) + "```sh\n".length;
  const block = markdown.slice(start, markdown.indexOf("\n```", start));
  const joined = block.replace(/\\\n\s*/g, "");
  const out: Step[] = [];
  const variables: Record<string, string> = {};
  for (const line of joined.split("\n")) {
    const assignment = line.match(/^([A-Z_]+)=(\S+)$/);
    if (assignment) variables[assignment[1] as string] = assignment[2] as string;
    else if (line.startsWith("# {")) {
      const last = out[out.length - 1];
      if (!last || last.expected !== undefined)
        throw new Error(`an answer with no command before it: ${line}`);
      last.expected = line.slice(2);
    } else if (line.trim() !== "" && !line.startsWith("#")) out.push({ command: line });
  }
  return { steps: out, variables };
}

let server: NodeProcess | undefined;
afterEach(async () => {
  server?.process.kill("SIGTERM");
  await server?.exited;
  server = undefined;
});

async function freshServer(env: Record<string, string> = {}): Promise<string> {
  const port = await freePort();
  server = await runNode(
    ["shared/runtime/server.ts"],
    { PORT: String(port), LOG_LEVEL: "info", ...env },
    "highpress listening",
  );
  return `http://127.0.0.1:${port}`;
}

function runSteps(all: Step[], env: Record<string, string>): void {
  expect(all.length).toBeGreaterThan(3);
  for (const { command, expected } of all) {
    const run = spawnSync("bash", ["-c", command], {
      env: { PATH: process.env.PATH ?? "", ...env },
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(run.status, `${command}\n${run.stderr}`).toBe(0);
    if (expected === undefined) {
      if (command.startsWith("curl")) expect(run.stdout.length, command).toBeGreaterThan(0);
      continue;
    }
    expect(JSON.parse(run.stdout), command).toEqual(JSON.parse(expected));
  }
}

describe("the README", () => {
  it("starts with the two commands: install and start, and the whole test suite", () => {
    const open = README.indexOf("```sh\n") + "```sh\n".length;
    const first = README.slice(open, README.indexOf("\n```", open)).split("\n");
    expect(first[0]).toMatch(/^npm install && npm start\s+#/);
    expect(first[1]).toMatch(/^npm test\s+#/);
    expect(README.split("\n").length).toBeLessThanOrEqual(320);
  });

  it("Try it: every command answers as shown, in order, on a fresh server", async () => {
    const { steps: all } = steps(README, "## Try it");
    expect(all.filter((s) => s.expected !== undefined).length).toBeGreaterThanOrEqual(10);
    runSteps(all, { HP: await freshServer() });
  }, 60_000);

  it("the operator's commands answer as shown on a server started as it says", async () => {
    const started = README.match(/`(ADMIN_KEYS=(\S+)) npm start`/);
    expect(started).not.toBeNull();
    const { steps: all, variables } = steps(README, "**The operator's commands**");
    expect(variables.ADMIN_KEY).toBe(started?.[2]);
    runSteps(all, {
      HP: await freshServer({ ADMIN_KEYS: started?.[2] as string }),
      ADMIN_KEY: variables.ADMIN_KEY as string,
    });
  }, 60_000);

  it("names in its settings table only variables .env.example documents, with the defaults the code has", () => {
    const example = readFileSync(".env.example", "utf8");
    const table = README.slice(
      README.indexOf("## Essential settings"),
      README.indexOf("## How it fits together"),
    );
    const names = [...table.matchAll(/^\| `([A-Z_]+)`(?:, `([A-Z_]+)`)? \|/gm)]
      .flatMap((m) => [m[1], m[2]])
      .filter(Boolean);
    expect(names.length).toBeGreaterThanOrEqual(8);
    for (const name of names) expect(example, name).toContain(name as string);
    expect(table).toContain("| `PORT`, `HOST` | where the local server listens | `8080`, `127.0.0.1` |");
  });

  it("names the outputs a deploy prints as the stack declares them", async () => {
    const { synth } = await import("../support/synth-stack.ts");
    const outputs = Object.keys(synth({}).template.toJSON().Outputs as object);
    const step = README.slice(README.indexOf("**Read the outputs**"), README.indexOf("**Smoke it**"));
    const named = [...step.matchAll(/`([A-Za-z]+(?:Url|Name|Host))`/g)].map((m) => m[1]).sort();
    expect(named).toEqual([...outputs].sort());
  });

  it("leaves the files its commands write ignored by git", () => {
    const docs = ["README.md", "docs/operations.md", "docs/deploy.md"]
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    const written = [
      ...docs.matchAll(/--out (\S+)|(?<!\/tmp\/)\b(counters\.(?:mts|ndjson)|[a-z-]+-out\.json)\b/g),
    ]
      .map((m) => m[1] ?? m[2])
      .filter((f): f is string => f !== undefined && !f.startsWith("/"));
    expect(written.length).toBeGreaterThan(0);
    for (const file of new Set(written)) {
      const ignored = spawnSync("git", ["check-ignore", "-q", file]);
      expect(ignored.status, `${file} is not git-ignored`).toBe(0);
    }
  });
});
