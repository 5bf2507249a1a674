// `npm run import -- counters.ndjson`: loads an NDJSON counters file (stdin with `-`) into the
// configured store with set semantics, so running it twice changes nothing. Bad lines, and a
// second line for a counter an earlier line gave, are reported with their line number and
// skipped; the exit code is 1 when there were any.

import { createReadStream } from "node:fs";
import { parseArgs } from "node:util";
import { importCounters } from "./counters-file.ts";
import { configuredStore, runTool } from "./data-store.ts";

runTool(async () => {
  const { positionals } = parseArgs({ allowPositionals: true });
  const file = positionals[0];
  if (!file) throw new Error("usage: npm run import -- <counters.ndjson | ->");
  const { config, store } = await configuredStore("import");
  const input = file === "-" ? process.stdin : createReadStream(file);
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  progress(`importing ${file} into the ${config.store} store`);
  const result = await importCounters(store, input, config.counterTypes, { progress });
  await store.close();
  if (result.rejected > 0) progress(`${result.rejected} bad lines skipped`);
  return result.rejected > 0 ? 1 : 0;
});
