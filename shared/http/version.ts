// The service version reported by /health. Bundles get it defined at build time (so they
// do not carry package.json); run from source, it is read from package.json.

import { createRequire } from "node:module";

export const VERSION: string =
  process.env.HP_BUNDLED_VERSION ??
  (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
