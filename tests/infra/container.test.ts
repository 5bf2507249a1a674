// The container image, as far as a machine without Docker can prove it: the Dockerfile's
// final stage is read (base, user, port, health check, command), the same bundle its build
// stage makes is built here into a directory of its own (no node_modules near it), and
// started the way CMD starts it, with the image's environment (HOST=0.0.0.0; only PORT is a
// free one here) on a real Redis: it serves, the HEALTHCHECK command passes against it, and
// STOPSIGNAL drains it to exit 0.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildServerBundle, SERVER_BUNDLE, SERVER_DIR } from "../../infra/bundling.ts";
import { freePort, type RedisServer, startRedis } from "../support/redis-server.ts";

interface Stage {
  from: string;
  lines: string[];
}

/** The Dockerfile's stages, each its FROM and its instructions (comments and blank lines dropped). */
function stages(text: string): Stage[] {
  const out: Stage[] = [];
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("FROM ")) out.push({ from: line, lines: [] });
    else out[out.length - 1]?.lines.push(line);
  }
  return out;
}
const instruction = (stage: Stage, name: string) =>
  stage.lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));
/** An exec-form instruction's argument list (`["node", "server.mjs"]`). */
const execForm = (text: string) => JSON.parse(text.slice(text.indexOf("["))) as string[];

const [build, run] = stages(readFileSync("Dockerfile", "utf8")) as [Stage, Stage];
const env = Object.fromEntries(
  instruction(run, "ENV")
    .flatMap((e) => e.split(/\s+/))
    .map((kv) => kv.split("=") as [string, string]),
);
const workdir = instruction(run, "WORKDIR")[0] as string;
const cmd = execForm(instruction(run, "CMD")[0] as string);
const healthcheck = execForm(instruction(run, "HEALTHCHECK")[0] as string);
const node = join(process.cwd(), "node_modules", ".bin", "node");

let redis: RedisServer;
let dir: string;
beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), "hp-image-"));
}, 30_000);
afterAll(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("runs as a non-root user on Node 24 slim, its port and command those of the bundle it copies", () => {
  expect(build.from).toMatch(/^FROM --platform=\$BUILDPLATFORM node:24-slim AS build$/);
  expect(run.from).toBe("FROM node:24-slim");
  expect(instruction(run, "USER")).toEqual(["node"]);
  expect(instruction(run, "EXPOSE")).toEqual([env.PORT]);
  expect(env).toMatchObject({ HOST: "0.0.0.0", NODE_ENV: "production" });
  expect(instruction(run, "STOPSIGNAL")).toEqual(["SIGTERM"]);
  // The build stage makes the bundle with the package's script, which builds SERVER_BUNDLE.
  expect(instruction(build, "RUN")).toContain("npm run build:server");
  const scripts = JSON.parse(readFileSync("package.json", "utf8")).scripts as Record<string, string>;
  expect(readFileSync(scripts["build:server"]?.replace(/^tsx /, "") ?? "", "utf8")).toContain(
    "buildServerBundle()",
  );
  // The run stage copies only that directory (the bundle, the docs' assets), and CMD runs its bundle.
  const copied = instruction(run, "COPY");
  expect(copied).toEqual([`--from=build --chown=node:node /src/${SERVER_DIR}/ ./`]);
  expect(cmd).toEqual(["node", SERVER_BUNDLE.slice(SERVER_DIR.length + 1)]);
  expect(workdir).toBe("/app");
  expect(healthcheck.join(" ")).toContain(`http://127.0.0.1:${env.PORT}/health`);
});

it("starts as CMD starts it, with nothing beside the bundle: serves, passes its health check, drains on its stop signal", async () => {
  await buildServerBundle(dir);
  const port = String(await freePort());
  const child = spawn(node, cmd.slice(1), {
    cwd: dir,
    // API_KEYS as an ECS container secret puts a secret's string: here a JSON array.
    env: {
      PATH: process.env.PATH ?? "",
      ...env,
      PORT: port,
      REDIS_URL: redis.url,
      KEY_PREFIX: "image",
      API_KEYS: '["container-key-aaaaaaaaaaaa","container-key-bbbbbbbbbbbb"]',
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c) => {
    output += String(c);
  });
  child.stderr.on("data", (c) => {
    output += String(c);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    for (let i = 0; i < 100 && !output.includes("highpress listening"); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain('"reachable":"every interface: the network can reach it"');
    expect(output).toContain('"store":"redis"');
    const base = `http://127.0.0.1:${port}`;
    const write = (key?: string) =>
      fetch(`${base}/api/v1/counter/increment`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(key ? { "x-api-key": key } : {}) },
        body: JSON.stringify({ resource_id: "image", counter_type: "view", user_id: "u", increment: 3 }),
      });
    expect((await write()).status).toBe(401);
    expect((await write("container-key-bbbbbbbbbbbb")).status).toBe(200);
    expect((await fetch(`${base}/demo`)).status).toBe(200);
    expect((await (await fetch(`${base}/health`)).json()) as object).toMatchObject({
      status: "ok",
      version: expect.any(String),
    });
    // The docs page and its assets come from the image's own copy.
    expect((await fetch(`${base}/docs`)).status).toBe(200);
    const css = await fetch(`${base}/docs/assets/swagger-ui.css`);
    expect([css.status, css.headers.get("content-type")]).toEqual([200, "text/css; charset=utf-8"]);
    const check = spawnSync(
      node,
      healthcheck.slice(1).map((a) => a.replace(`:${env.PORT}/`, `:${port}/`)),
      {
        timeout: 10_000,
      },
    );
    expect(check.status, String(check.stderr)).toBe(0);
  } finally {
    child.kill("SIGTERM");
  }
  expect(await exited, output).toBe(0);
  expect(output).toContain("highpress stopped");
}, 60_000);
