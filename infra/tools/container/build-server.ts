// `npm run build:server`: the local server as one file (dist/server/server.mjs), what the
// container image runs (Dockerfile).

import { buildServerBundle, SERVER_BUNDLE } from "../../bundling.ts";

const bytes = await buildServerBundle();
process.stdout.write(`${SERVER_BUNDLE}  ${(bytes / 1024).toFixed(1)} KiB\n`);
