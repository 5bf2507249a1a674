// The API's documentation on the local server: /openapi.json and a Swagger UI page at /docs,
// served from the swagger-ui-dist package (works offline). Mounted by shared/runtime/server.ts only:
// no Lambda entry imports this module, so none of it reaches a bundle.

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CounterTypes } from "../domain/model.ts";
import { addRoute, type HighPressApp, respond } from "./http-app.ts";
import { HttpError } from "./http-errors.ts";
import { buildOpenApiDocument } from "./openapi.ts";
import { VERSION } from "./version.ts";

/** The assets served, by name: a Map, so that `__proto__` or `constructor` is no asset. */
export const DOCS_ASSETS: ReadonlyMap<string, string> = new Map<string, string>([
  ["swagger-ui.css", "text/css; charset=utf-8"],
  ["swagger-ui-bundle.js", "application/javascript; charset=utf-8"],
  ["swagger-ui-standalone-preset.js", "application/javascript; charset=utf-8"],
  ["favicon-32x32.png", "image/png"],
]);

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>HighPress API</title>
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#docs", deepLinking: true, tryItOutEnabled: true });
  </script>
</body>
</html>
`;

const READ = { auth: "read" } as const;

/**
 * Where the assets are read from: the swagger-ui-dist package, or, in the server's bundle
 * (the container image), the directory beside it that HP_BUNDLED_DOCS_ASSETS names (a
 * build-time constant: infra/bundling.ts copies the assets there).
 */
function docsAssetsDir(): string {
  if (process.env.HP_BUNDLED_DOCS_ASSETS !== undefined) {
    return fileURLToPath(new URL(`${process.env.HP_BUNDLED_DOCS_ASSETS}/`, import.meta.url));
  }
  return dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
}

export function mountDocs(app: HighPressApp, counterTypes: CounterTypes): void {
  const document = JSON.stringify(buildOpenApiDocument(counterTypes, VERSION), null, 2);
  const assetsDir = docsAssetsDir();
  // Behind READ_AUTH like the reads: the document names every route.
  addRoute(app, "/openapi.json", "/openapi.json", (c) => respond(c, document), READ);
  // The page runs Swagger UI's scripts: the API's deny-all CSP is not for it.
  addRoute(
    app,
    "/docs",
    "/docs",
    (c) =>
      respond(c, PAGE, 200, {
        "content-type": "text/html; charset=UTF-8",
        "content-security-policy": undefined,
        "cache-control": "no-cache",
      }),
    READ,
  );
  addRoute(
    app,
    "/docs/assets/:file",
    "/docs/assets/{file}",
    async (c) => {
      const file = c.req.param("file") ?? "";
      const type = DOCS_ASSETS.get(file);
      if (!type) throw new HttpError(404, `No documentation asset ${file.slice(0, 100)}`);
      const content = await readFile(join(assetsDir, file));
      return respond(c, content, 200, {
        "content-type": type,
        "content-security-policy": undefined,
        "cache-control": "public, max-age=86400",
      });
    },
    READ,
  );
}
