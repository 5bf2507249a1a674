// `npm run start-lambda`: the Lambda Invoke API on 127.0.0.1:3001 (LAMBDA_PORT), as
// `sam local start-lambda` serves it, for every function (FUNCTION_IDS): the built bundles
// run in this process with this process's environment, and queued events are applied here. Point the AWS CLI
// or an SDK at it: `aws lambda invoke --endpoint-url http://127.0.0.1:3001 ...`.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { loadConfig } from "../../../shared/runtime/config.ts";
import { loadDotEnv } from "../../../shared/runtime/env-file.ts";
import { startLocalConsumer } from "../../../shared/runtime/events-consumer.ts";
import { createLogger, logLevelOf } from "../../../shared/runtime/logger.ts";
import { openStore } from "../../../shared/runtime/store.ts";
import type { BundleStore } from "../../bundling.ts";
import { FUNCTION_IDS, type FunctionId, functionIdOf } from "../../bundling.ts";
import { bundleStoreFor, hostFunctions, type LambdaEntry, lambdaContextFor } from "./lambda-host.ts";

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** Name, full ARN or partial ARN (`123456789012:function:Name`), with or without a qualifier. */
function nameOf(raw: string): string {
  const decoded = decodeURIComponent(raw);
  const match = decoded.match(/(?:^|:)function:([^:]+)/);
  return (match?.[1] ?? decoded).split(":")[0] ?? decoded;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "x-amzn-requestid": crypto.randomUUID(),
    ...headers,
  });
  res.end(text);
}

function awsError(res: ServerResponse, status: number, type: string, message: string) {
  sendJson(
    res,
    status,
    { Type: "User", message, Message: message, __type: type },
    { "x-amzn-errortype": type },
  );
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function errorPayload(error: unknown) {
  const e = error instanceof Error ? error : new Error(String(error));
  return { errorType: e.name, errorMessage: e.message, trace: (e.stack ?? "").split("\n") };
}

export function createInvokeServer(functions: ReadonlyMap<FunctionId, LambdaEntry>): Server {
  return createServer((req, res) => {
    (async () => {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      const match = path.match(INVOKE_PATH);
      if (!match || req.method !== "POST") {
        return awsError(
          res,
          404,
          "UnknownOperationException",
          `No Lambda operation at ${req.method} ${path}`,
        );
      }
      const name = nameOf(match[1] ?? "");
      const id = functionIdOf(name);
      const handler = id && id === name ? functions.get(id) : undefined;
      if (!id || !handler) {
        return awsError(
          res,
          404,
          "ResourceNotFoundException",
          `Function not found: arn:aws:lambda:us-east-1:123456789012:function:${name} (served here: ${FUNCTION_IDS.join(", ")})`,
        );
      }
      const text = await readBody(req);
      let event: unknown = {};
      if (text.trim() !== "") {
        try {
          event = JSON.parse(text);
        } catch {
          return awsError(
            res,
            400,
            "InvalidRequestContentException",
            "Could not parse request body into json",
          );
        }
      }
      const type = String(req.headers["x-amz-invocation-type"] ?? "RequestResponse");
      if (type === "DryRun") return sendJson(res, 204, undefined);
      if (type === "Event") {
        handler(event, lambdaContextFor(id)).catch(() => {});
        return sendJson(res, 202, undefined);
      }
      const headers = { "x-amz-executed-version": "$LATEST" };
      try {
        return sendJson(res, 200, await handler(event, lambdaContextFor(id)), headers);
      } catch (error) {
        return sendJson(res, 200, errorPayload(error), { ...headers, "x-amz-function-error": "Unhandled" });
      }
    })().catch((error: unknown) => awsError(res, 500, "ServiceException", String(error)));
  });
}

/**
 * Without EVENTS_QUEUE_URL, EventsFunction leaves accepted events in the store, as the local
 * server does; this process then applies them as the server's consumer does, so a POST of
 * events is counted here too. The memory store is each bundle's own: nothing to share, said once.
 */
async function queuedEventsConsumer(store: BundleStore): Promise<{ stop(): Promise<void> }> {
  const logger = createLogger(logLevelOf(process.env.LOG_LEVEL));
  if (process.env.EVENTS_QUEUE_URL) return { stop: async () => {} };
  if (store === "memory") {
    logger.warn(
      "queued events are not counted on the memory store: each function has its own; set REDIS_URL",
    );
    return { stop: async () => {} };
  }
  const { store: counters, localQueue } = await openStore(loadConfig(process.env), logger);
  const consumer = startLocalConsumer(counters, localQueue, logger);
  return {
    stop: async () => {
      await consumer.stop();
      await counters.close();
    },
  };
}

async function main(): Promise<void> {
  loadDotEnv();
  const port = Number(process.env.LAMBDA_PORT ?? 3001);
  const host = process.env.LAMBDA_HOST ?? "127.0.0.1";
  const store = bundleStoreFor(process.env);
  const functions = await hostFunctions(join("dist", "start-lambda"), store);
  const server = createInvokeServer(functions);
  const consumer = await queuedEventsConsumer(store);
  server.listen(port, host, () => {
    const address = server.address() as AddressInfo;
    process.stdout.write(
      `${JSON.stringify({
        level: "info",
        msg: "lambda invoke api listening",
        endpoint: `http://${host}:${address.port}`,
        functions: [...functions.keys()],
        bundle: store,
      })}\n`,
    );
  });
  const stop = () => server.close(() => void consumer.stop().then(() => process.exit(0)));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
