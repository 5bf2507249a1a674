// Servers the benchmark and the soak run as child processes, each started with tsx and
// awaited until it answers.

import { type ChildProcess, spawn } from "node:child_process";

/** Starts a server as a child process and waits until `readyUrl` answers. */
export async function startServer(
  args: string[],
  env: Record<string, string>,
  readyUrl: string,
  cwd = process.cwd(),
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args[0]} exited ${child.exitCode}`);
    try {
      if ((await fetch(readyUrl)).status < 500) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${args[0]} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
