// `npm run export -- --out counters.ndjson [--no-members]`: every counter of the configured
// store as NDJSON (stdout without --out), one line per counter, streamed page by page with
// SCAN; progress on stderr.

import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { parseArgs } from "node:util";
import { exportCounters } from "./counters-file.ts";
import { configuredStore, runTool } from "./data-store.ts";

runTool(async () => {
  const { values } = parseArgs({
    options: { out: { type: "string" }, "no-members": { type: "boolean", default: false } },
  });
  const { config, store } = await configuredStore("export");
  const out = values.out ? createWriteStream(values.out) : process.stdout;
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  progress(`exporting the ${config.store} store${values.out ? ` to ${values.out}` : ""}`);
  await exportCounters(store, out, { members: !values["no-members"], progress });
  if (out !== process.stdout) {
    out.end();
    await finished(out);
  }
  await store.close();
  return 0;
});
