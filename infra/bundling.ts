// How every Lambda bundle is built: one set of esbuild options, used by the CDK construct
// (NodejsFunction with the local esbuild), by `npm run size` and by `npm run invoke`, so
// what is measured and invoked locally is what is deployed.

import { copyFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { BuildOptions } from "esbuild";
import { FUNCTION_IDS, type FunctionId, FUNCTIONS as SHORT_NAMES } from "../shared/domain/functions.ts";
import { ROUTES } from "../shared/http/routes.ts";

export { FUNCTION_IDS, type FunctionId };

/** Each function with its entry point: `functions/<short>.ts`. */
export const FUNCTIONS = Object.fromEntries(
  FUNCTION_IDS.map((id) => [id, { entry: `functions/${SHORT_NAMES[id]}.ts`, short: SHORT_NAMES[id] }]),
) as Record<FunctionId, { entry: string; short: string }>;

/** The store a deployed bundle carries: `upstash` (@upstash/redis) or `redis` (ioredis). */
export type DeployedStore = "upstash" | "redis";

/**
 * The store a bundle carries: a deployed one's, or `memory`, which carries no store client
 * and is only for trying the functions locally with no store (`npm run invoke`). A deployed
 * bundle has no memory store, so a function that lost its store settings fails loudly
 * instead of counting in one instance's memory.
 */
export type BundleStore = DeployedStore | "memory";

/**
 * Size budgets of a minified bundle, per store, in KiB: `npm run size` fails over them and
 * the synth test holds the deployed bundles to them. Upstash was 150 until the route table
 * (its schemas and examples, about 5 KiB) came into every bundle; the hand-written Lambda
 * adapter took hono/aws-lambda out. 160 until the operator's commands (admin routes, badge,
 * their scripts: about 18 KiB) came into every bundle with the app, 180 until batch
 * increments and sharded rankings (about 7 KiB), 190 until the first-deploy work (5.6 KiB:
 * secrets re-read on rotation, the data-format check at start, the badge's label and colour
 * rules, the cookies and body-size checks, the lockout check, the settings table), 195 until
 * the route table was executed (2026-12-06: the mount loop and the fast paths made from
 * schemas, the schemas built for the configured types, one record per keyed batch, the
 * queued events' key claim, the local event queue's port, scripts by name: about 4 KiB, with
 * the answer schemas taken out), 200 until per-day history (2026-12-06: its routes, handler
 * and scripts, and the operator's scripts by name, about 9 KiB; the operator's commands then
 * left every bundle but AdminFunction's, which took the others back to 195-199 KiB and leaves
 * AdminFunction the largest at about 205), 206 until the week's ranking became the sum of its
 * days (its two scripts, 1.4 KiB; AdminFunction 206.7), 208 until the local server's drain and
 * workers (their settings and checks ride in every bundle with the settings table, and the
 * queue's length script with the store's: about 1 KiB; AdminFunction 208.2), 210 until live
 * counts (the PUBLISH in every write script, the live route's table entry and its three
 * settings: about 2.4 KiB; the change feed's stream readers ride in WatchFunction's bundle
 * alone, HP_BUNDLED_CHANGES; AdminFunction 210.6), 212 until the store's own HTTP requester
 * (upstash-http.ts: node:http instead of fetch, which spares each cold start the load of
 * Node's undici; the library's fetch client still rides along, about 1.9 KiB; AdminFunction
 * 212.8). Redis was 300 until queued events (about 14 KiB
 * with the ones before), 320 until per-day history. Load time, which is what a cold start
 * pays, is measured by `npm run size` beside it.
 */
export const BUNDLE_BUDGET_KIB: Record<DeployedStore, number> = { upstash: 215, redis: 330 };

/** Lambda runs nodejs24.x, and so does every npm script here. */
export const BUNDLE_TARGET = "node24";

/**
 * NODE_OPTIONS of a deployed function. Source maps are opt-in (`-c sourceMaps=true`):
 * --enable-source-maps made the bundle's load 70-180 ms slower here. `npm run size`
 * measures with this same value.
 */
export function deployedNodeOptions(sourceMaps: boolean): string | undefined {
  return sourceMaps ? "--enable-source-maps" : undefined;
}

/** The runtime provides the AWS SDK v3; bundling it would only add weight. */
export const EXTERNAL_MODULES = ["@aws-sdk/*"];

/** ESM bundles of CommonJS dependencies (ioredis) still call require() for Node built-ins. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __hpCreateRequire } from 'node:module'; const require = __hpCreateRequire(import.meta.url);";

const VERSION = (
  JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8")) as { version: string }
).version;

/** Whether a function serves an admin route: only then does its bundle carry the operator's commands. */
export const servesAdmin = (id: FunctionId): boolean => ROUTES.some((r) => r.fn === id && r.auth === "admin");

/**
 * Build-time constants: the store whose client the bundle carries (the other one's is left
 * out, see shared/runtime/store.ts), whether it carries the operator's commands (their
 * scripts: only a function that serves an admin route, see shared/stores/script-store.ts),
 * and the version (so package.json is not bundled).
 */
export function bundleDefine(store: BundleStore, id: FunctionId): Record<string, string> {
  return {
    "process.env.HP_BUNDLED_STORE": JSON.stringify(store),
    "process.env.HP_BUNDLED_ADMIN": JSON.stringify(servesAdmin(id) ? "1" : "0"),
    "process.env.HP_BUNDLED_CHANGES": JSON.stringify(id === "WatchFunction" ? "1" : "0"),
    "process.env.HP_BUNDLED_VERSION": JSON.stringify(VERSION),
  };
}

export function functionIdOf(name: string): FunctionId | undefined {
  const lower = name.toLowerCase();
  return FUNCTION_IDS.find((id) => id.toLowerCase() === lower || FUNCTIONS[id].short === lower);
}

/**
 * Packages a bundle carries in another form: `debug` (ioredis's debug logging, off in a
 * deployed function and in the container's server) as a logger that is never on, not the
 * package that loads tty, os and colour detection at every cold start.
 */
export const BUNDLE_ALIASES: Record<string, string> = {
  debug: join(import.meta.dirname, "bundle-shims", "debug.cjs"),
};

/** What every bundle is built with: one minified ESM file for Node 24, an external source map. */
function bundleOptions(entry: string, outfile: string, define: Record<string, string>): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: BUNDLE_TARGET,
    mainFields: ["module", "main"],
    minify: true,
    sourcemap: "external",
    sourcesContent: false,
    legalComments: "none",
    define,
    alias: BUNDLE_ALIASES,
    banner: { js: ESM_REQUIRE_BANNER },
    logLevel: "warning",
  };
}

export function esbuildOptions(id: FunctionId, outfile: string, store: BundleStore): BuildOptions {
  return {
    ...bundleOptions(FUNCTIONS[id].entry, outfile, bundleDefine(store, id)),
    external: EXTERNAL_MODULES,
  };
}

/** The local server as one file and its docs' assets: what the container image runs (Dockerfile, `npm run build:server`). */
export const SERVER_DIR = "dist/server";
export const SERVER_BUNDLE = `${SERVER_DIR}/server.mjs`;
/** The directory beside the server's bundle that holds the /docs page's assets. */
const SERVER_DOCS_ASSETS = "swagger-ui";

/**
 * The local server bundled as the functions are, but with every store (the image serves
 * whichever COUNTER_STORE names) and nothing left external: the image needs no node_modules.
 */
function serverBuildOptions(outfile: string): BuildOptions {
  return bundleOptions("shared/runtime/server.ts", outfile, {
    "process.env.HP_BUNDLED_VERSION": JSON.stringify(VERSION),
    "process.env.HP_BUNDLED_DOCS_ASSETS": JSON.stringify(SERVER_DOCS_ASSETS),
  });
}

/** Builds the server's bundle into `dir` (server.mjs) with the docs' assets beside it; its size in bytes. */
export async function buildServerBundle(dir = SERVER_DIR): Promise<number> {
  const { build } = await import("esbuild");
  const { DOCS_ASSETS } = await import("../shared/http/docs.ts");
  const outfile = join(dir, "server.mjs");
  const assets = join(dir, SERVER_DOCS_ASSETS);
  mkdirSync(assets, { recursive: true });
  await build(serverBuildOptions(outfile));
  const from = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  for (const file of DOCS_ASSETS.keys()) copyFileSync(join(from, file), join(assets, file));
  return statSync(outfile).size;
}

export interface BuiltBundle {
  id: FunctionId;
  store: BundleStore;
  file: string;
  bytes: number;
}

/** Builds the three function bundles for one store into `outdir/<store>/<function>/index.mjs`. */
export async function buildBundles(
  outdir: string,
  store: BundleStore,
  ids = FUNCTION_IDS,
): Promise<BuiltBundle[]> {
  const { build } = await import("esbuild");
  return Promise.all(
    ids.map(async (id) => {
      const dir = join(outdir, store, FUNCTIONS[id].short);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, "index.mjs");
      await build(esbuildOptions(id, file, store));
      return { id, store, file, bytes: statSync(file).size };
    }),
  );
}
