// `npm run invoke -- <function> <event.json>`: builds the function's bundle (the deployed
// one, for the store the environment configures) and invokes its handler once with the
// event, printing what the function returns, as `sam local invoke` would. No Docker.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type BundleStore, buildBundles, FUNCTION_IDS, functionIdOf } from "./bundling.ts";

const USAGE = `usage: npm run invoke -- <function> <event.json>
  function: ${FUNCTION_IDS.join(", ")} (or increment, get, batch)
  The store comes from the environment, as on Lambda (COUNTER_STORE, REDIS_URL, UPSTASH_*);
  with none set the function runs on the memory store.`;

function storeOf(env: NodeJS.ProcessEnv): BundleStore {
  const store =
    env.COUNTER_STORE ?? (env.UPSTASH_REDIS_REST_URL ? "upstash" : env.REDIS_URL ? "redis" : "memory");
  return store === "redis" ? "redis" : "upstash";
}

async function main(): Promise<number> {
  const [name, eventFile] = process.argv.slice(2);
  const id = name ? functionIdOf(name) : undefined;
  if (!id || !eventFile) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const event: unknown = JSON.parse(readFileSync(eventFile, "utf8"));
  const [bundle] = await buildBundles(join("dist", "invoke"), storeOf(process.env), [id]);
  if (!bundle) throw new Error("no bundle was built");
  const mod = (await import(pathToFileURL(resolve(bundle.file)).href)) as {
    handler: (event: unknown, context: unknown) => Promise<unknown>;
  };
  const context = {
    functionName: id,
    functionVersion: "$LATEST",
    awsRequestId: crypto.randomUUID(),
    memoryLimitInMB: "512",
    getRemainingTimeInMillis: () => 10_000,
  };
  const result = await mod.handler(event, context);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `invoke failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
