// `npm run invoke -- <function> <event.json>`: invokes one function once with an event and
// prints what it returns, as `sam local invoke` / `sam remote invoke` would. No Docker.
//   (default)          builds the deployed bundle for the store the environment configures
//                      and runs it in this process
//   --endpoint URL     through a Lambda Invoke API endpoint, e.g. `npm run start-lambda`
//   --remote           the deployed function, by name, or by stack with --stack NAME,
//                      with the usual AWS region and credential chain

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadDotEnv } from "../../../shared/runtime/env-file.ts";
import { FUNCTION_IDS, functionIdOf } from "../../bundling.ts";
import { invokeThroughApi, lambdaClient, stackFunctionName } from "./aws.ts";
import { bundleStoreFor, hostFunctions, lambdaContextFor } from "./lambda-host.ts";

const USAGE = `usage: npm run invoke -- <function> <event.json> [--endpoint URL | --remote [--stack NAME]]
  function: ${FUNCTION_IDS.join(", ")} (or increment, get, batch); with --remote without
            --stack, the deployed function's name
  Locally the store comes from the environment, as on Lambda (COUNTER_STORE, REDIS_URL,
  UPSTASH_*); with none set the function runs on the memory store.`;

/**
 * While the function runs in this process, what it prints (its logs, its EMF lines) goes to
 * stderr, so that stdout carries only its answer, as with `sam local invoke`:
 * `npm run -s invoke -- increment events/increment.json | jq` works.
 */
function logsToStderr(): () => void {
  const write = process.stdout.write;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return () => {
    process.stdout.write = write;
  };
}

async function main(): Promise<number> {
  loadDotEnv();
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { endpoint: { type: "string" }, remote: { type: "boolean" }, stack: { type: "string" } },
  });
  const [name, eventFile] = positionals;
  if (!name || !eventFile || (values.endpoint && values.remote)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const event: unknown = JSON.parse(readFileSync(eventFile, "utf8"));
  const restoreStdout = logsToStderr();
  const id = functionIdOf(name);
  let result: unknown;
  let failed = false;
  if (values.endpoint || values.remote) {
    let functionName = id ?? name;
    if (values.remote && values.stack) {
      if (!id) throw new Error(`--stack needs one of ${FUNCTION_IDS.join(", ")}`);
      functionName = await stackFunctionName(values.stack, id);
    }
    const outcome = await invokeThroughApi(await lambdaClient(values.endpoint), functionName, event);
    result = outcome.payload;
    failed = outcome.functionError !== undefined;
    if (failed) process.stderr.write(`function error: ${outcome.functionError}\n`);
  } else {
    if (!id) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const handler = (await hostFunctions(join("dist", "invoke"), bundleStoreFor(process.env), [id])).get(id);
    if (!handler) throw new Error(`no handler for ${id}`);
    result = await handler(event, lambdaContextFor(id));
  }
  restoreStdout();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return failed ? 1 : 0;
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
