// Hosts the built function bundles in this process, as the Lambda runtime would: each
// bundle imported once (its init runs then), then invoked with an event and a context.

import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type BundleStore, buildBundles, FUNCTION_IDS, type FunctionId } from "../../bundling.ts";

export type LambdaEntry = (event: unknown, context: unknown) => Promise<unknown>;

/** The bundle a local run needs: the store the environment configures. */
export function bundleStoreFor(env: NodeJS.ProcessEnv): BundleStore {
  const store =
    env.COUNTER_STORE ?? (env.UPSTASH_REDIS_REST_URL ? "upstash" : env.REDIS_URL ? "redis" : "memory");
  return store === "redis" || store === "memory" ? store : "upstash";
}

export function lambdaContextFor(id: FunctionId, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: id,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${id}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${id}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** Builds the bundles into `outdir` and imports them; returns each function's handler. */
export async function hostFunctions(
  outdir: string,
  store: BundleStore,
  ids: readonly FunctionId[] = FUNCTION_IDS,
): Promise<Map<FunctionId, LambdaEntry>> {
  const bundles = await buildBundles(outdir, store, [...ids]);
  const hosted = new Map<FunctionId, LambdaEntry>();
  for (const bundle of bundles) {
    const mod = (await import(pathToFileURL(resolve(bundle.file)).href)) as { handler?: LambdaEntry };
    if (typeof mod.handler !== "function") throw new Error(`${bundle.file} exports no handler`);
    hosted.set(bundle.id, mod.handler);
  }
  return hosted;
}
