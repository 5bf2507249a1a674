// The configured store, for the data tools (export, import): the same configuration as the
// server (environment, then a .env file), with logs on stderr so stdout stays the data.

import { loadConfig } from "../../../shared/runtime/config.ts";
import { loadDotEnv } from "../../../shared/runtime/env-file.ts";
import { createLogger } from "../../../shared/runtime/logger.ts";
import { createStore } from "../../../shared/runtime/store.ts";

/** The memory store lives and dies with one process: nothing to export from, nothing kept by an import. */
export class MemoryStoreRefusedError extends Error {
  override name = "MemoryStoreRefusedError";
}

export async function configuredStore(tool: "export" | "import") {
  loadDotEnv();
  const config = loadConfig(process.env);
  if (config.store === "memory") {
    throw new MemoryStoreRefusedError(
      `${tool}: the memory store lives only inside one server process; set COUNTER_STORE=redis with REDIS_URL (or upstash with UPSTASH_REDIS_REST_URL and its token) to ${tool} a real store`,
    );
  }
  const logger = createLogger("warn", (_level, line) => process.stderr.write(`${line}\n`));
  const store = await createStore(config, logger);
  return { config, store };
}

/** Runs a tool's main: a failure is one line on stderr and exit code 1 (2: the memory store, a usage error). */
export function runTool(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(error instanceof MemoryStoreRefusedError ? 2 : 1);
    },
  );
}
