// Runs a TypeScript entry point of the project in its own Node process, as a user would,
// collecting what it prints and, when asked, waiting until it prints a given line.

import { type ChildProcess, spawn } from "node:child_process";

export interface NodeProcess {
  process: ChildProcess;
  /** Everything printed so far, stdout and stderr together. */
  output: () => string;
  exited: Promise<number | null>;
}

export function runNode(args: string[], env: Record<string, string>, ready?: string): Promise<NodeProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (c) => {
    out += String(c);
  });
  child.stderr?.on("data", (c) => {
    out += String(c);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const handle = { process: child, output: () => out, exited };
  if (!ready) return Promise.resolve(handle);
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 30_000;
    const poll = setInterval(() => {
      if (out.includes(ready)) {
        clearInterval(poll);
        resolve(handle);
      } else if (child.exitCode !== null || Date.now() > deadline) {
        clearInterval(poll);
        reject(new Error(`${args[0]} not ready: ${out}`));
      }
    }, 50);
  });
}

/** The local server in its own process on a free port, once `/health` answers: its base URL and process. */
export async function startServerProcess(
  env: Record<string, string>,
): Promise<{ base: string; node: NodeProcess }> {
  const { freePort } = await import("./redis-server.ts");
  const port = await freePort();
  const node = await runNode(["shared/runtime/server.ts"], { HOST: "127.0.0.1", ...env, PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  const { untilAnswering } = await import("../../infra/tools/performance/servers.ts");
  await untilAnswering(`${base}/health`, node.process, "the server", 15_000).catch((error: Error) => {
    throw new Error(`${error.message}: ${node.output()}`);
  });
  return { base, node };
}
