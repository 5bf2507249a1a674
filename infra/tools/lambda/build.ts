// `npm run build`: the deployable function bundles for both stores, and the OpenAPI
// document, in dist/.

import { mkdirSync, writeFileSync } from "node:fs";
import { buildOpenApiDocument } from "../../../shared/http/openapi.ts";
import { VERSION } from "../../../shared/http/version.ts";
import { loadConfig } from "../../../shared/runtime/config.ts";
import { loadDotEnv } from "../../../shared/runtime/env-file.ts";
import { buildBundles } from "../../bundling.ts";

mkdirSync("dist", { recursive: true });
// The counter types documented are the configured ones (COUNTER_TYPES), as the server serves.
loadDotEnv();
const { counterTypes } = loadConfig(process.env);
writeFileSync(
  "dist/openapi.json",
  `${JSON.stringify(buildOpenApiDocument(counterTypes, VERSION), null, 2)}\n`,
);
for (const store of ["upstash", "redis"] as const) {
  for (const b of await buildBundles("dist/lambda", store)) {
    process.stdout.write(`${b.file}  ${(b.bytes / 1024).toFixed(1)} KiB\n`);
  }
}
process.stdout.write("dist/openapi.json\n");
