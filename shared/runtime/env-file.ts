// A `.env` file in the working directory, read at start by the local entry points (the
// server, the tools); never on Lambda. Node's own loader: variables already in the
// environment win over the file.

import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** Loads `<cwd>/.env` into process.env when there is one; returns its path, or undefined. */
export function loadDotEnv(cwd = process.cwd()): string | undefined {
  const file = resolve(cwd, ".env");
  if (!existsSync(file)) return undefined;
  process.loadEnvFile(file);
  return file;
}
