// The configured store, for the data tools (export, import): the same configuration as the
// server (environment, then a .env file), with logs on stderr so stdout stays the data.

import { loadConfig } from "../../shared/runtime/config.ts";
import { loadDotEnv } from "../../shared/runtime/env-file.ts";
import { createLogger } from "../../shared/runtime/logger.ts";
import { createStore } from "../../shared/stores/create.ts";

export async function configuredStore() {
  loadDotEnv();
  const config = loadConfig(process.env);
  const logger = createLogger("warn", (_level, line) => process.stderr.write(`${line}\n`));
  const store = await createStore(config, logger);
  return { config, store };
}

/** Runs a tool's main: a failure is one line on stderr and exit code 1. */
export function runTool(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
