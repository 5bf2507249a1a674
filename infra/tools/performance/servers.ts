// Servers the benchmark and the soak run as child processes, each started with tsx and
// awaited until it answers; and how a performance tool runs when it is the command.

import { type ChildProcess, spawn } from "node:child_process";
import { pathToFileURL } from "node:url";

/** Runs `main` when `moduleUrl` is the command run (not an import, as the tests do): exit 0, or 1 with the error. */
export function runWhenCommand(moduleUrl: string, main: () => Promise<void>): void {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? "").href) return;
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

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
  await untilAnswering(readyUrl, child, args[0] ?? "the server");
  return child;
}

/**
 * Waits until `url` answers (any status under 500) while `child` runs: throws once it has
 * exited or after `timeoutMs`, naming `what`.
 */
export async function untilAnswering(
  url: string,
  child: ChildProcess,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}`);
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
