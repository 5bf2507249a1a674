// Lambda support: builds the app from the environment and Secrets Manager during Lambda's
// init phase (and again when a secret, read anew every 5 minutes, has changed), and answers a
// failed start with a logged error and a 503 envelope (not a bare 502); the next invocation
// tries again.

import { randomUUID } from "node:crypto";
import type { HttpFunctionId } from "../domain/functions.ts";
import { composeApp, type HandlerFactory, sendingTo } from "../http/http-app.ts";
import { envelope, STATUS_TITLES } from "../http/http-errors.ts";
import { emfLine, type RequestRecord } from "../http/observe.ts";
import { answerHeaders } from "../http/pipeline.ts";
import { appSettings } from "./app-settings.ts";
import { type Env, readSecretFromAws, rebuiltOnRotation, type SecretReader } from "./secrets.ts";
import { sqsEventQueue } from "./sqs-queue.ts";
import { openStore } from "./store.ts";

export type { SecretReader };

import { loadConfig } from "./config.ts";
import { lambdaPlatform, type ProxyResult, type Refusal, toResult, translate } from "./lambda-adapter.ts";
import { createLogger, type Logger, logLevelOf } from "./logger.ts";

export interface LambdaOptions {
  /** Default: process.env. */
  env?: Env;
  /** Default: Secrets Manager through the Lambda runtime's own AWS SDK. */
  readSecret?: SecretReader;
  /** Default: JSON lines on stdout at LOG_LEVEL. */
  logger?: Logger;
  /** Where the per-request EMF lines go. Default: stdout, where CloudWatch reads them. */
  emit?: (line: string) => void;
  /** How long secrets are trusted before they are read again. Default SECRETS_TTL_MS (5 minutes). */
  secretsTtlMs?: number;
  /** Default Date.now; tests move it past the secrets' TTL. */
  clock?: () => number;
}

export interface LambdaHandler {
  /** Takes any event; always answers (never throws). */
  (event: unknown, context?: unknown): Promise<ProxyResult>;
  /** Settles when the first start attempt has (a function awaits it in its init phase). */
  warm: Promise<void>;
}

function startFailure(): ProxyResult {
  return {
    statusCode: 503,
    headers: { "content-type": "application/json", "retry-after": "5" },
    body: JSON.stringify({
      error: STATUS_TITLES[503],
      code: 503,
      message: "The service could not start: see its logs. Retry shortly.",
    }),
    isBase64Encoded: false,
  };
}

/** A refusal by the adapter, answered like the app answers: envelope, headers, request id, record. */
function refusalAnswer(
  refusal: Refusal,
  requestId: string,
  method: string,
  record: (r: RequestRecord) => void,
): ProxyResult {
  const started = performance.now();
  const headers = answerHeaders(requestId, undefined, refusal.headers);
  const body = `${JSON.stringify(envelope(refusal))}\n`;
  record({
    request_id: requestId,
    method,
    route: "unmatched",
    status: refusal.status,
    latency_ms: Math.round((performance.now() - started) * 1000) / 1000,
    store_ms: 0,
  });
  return { statusCode: refusal.status, headers, body, isBase64Encoded: false };
}

/**
 * The handler of an HTTP function: `handlers` are the modules of the routes the table gives
 * `fn` (the entry point imports just those, so its bundle carries no other route's code).
 */
export function createLambdaHandler(
  fn: HttpFunctionId,
  handlers: readonly HandlerFactory[],
  options: LambdaOptions = {},
): LambdaHandler {
  const env = options.env ?? process.env;
  const readSecret = options.readSecret ?? readSecretFromAws;
  const logger: Logger = options.logger ?? createLogger(logLevelOf(env.LOG_LEVEL));
  const emit = options.emit ?? ((line: string) => process.stdout.write(`${line}\n`));
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME ?? fn;
  // One line per request: the request log and its CloudWatch metrics (EMF) together.
  const record = (r: RequestRecord) => emit(emfLine(r, functionName));
  type Inner = (event: unknown) => Promise<ProxyResult>;

  type Built = { inner: Inner; close: () => Promise<void> };
  const build = async (resolved: Env): Promise<Built> => {
    const config = loadConfig(resolved);
    // Its data-format check is the first round trip: the connection is made in the init
    // phase, so the first request does not pay for it.
    const { store, localQueue } = await openStore(config, logger);
    // EventsFunction sends accepted events to SQS (EVENTS_QUEUE_URL); without it they wait in the
    // local event queue (trying a function locally).
    const queueUrl = env.EVENTS_QUEUE_URL;
    const eventQueue = queueUrl
      ? sqsEventQueue(queueUrl, { timeoutMs: config.storeTimeoutMs })
      : sendingTo(localQueue);
    const app = composeApp(
      {
        store,
        ...appSettings(config),
        logger,
        platform: lambdaPlatform,
        observe: record,
        eventQueue,
      },
      handlers,
      fn,
    );
    logger.info("highpress function ready", {
      function: fn,
      store: config.store,
      writes: config.apiKeys.length > 0 ? "require an API key" : "OPEN: no API keys configured",
      admin: config.adminKeys.length > 0 ? "on" : "off",
    });
    const inner: Inner = async (event: unknown) => {
      const translated = translate(event);
      if ("refusal" in translated) {
        const id = translated.event?.requestContext?.requestId;
        const requestId = typeof id === "string" && id ? id : randomUUID();
        return refusalAnswer(translated.refusal, requestId, translated.method, record);
      }
      return toResult(await app.fetch(translated.request, translated.bindings));
    };
    return { inner, close: () => store.close() };
  };
  const current = rebuiltOnRotation(env, readSecret, build, {
    logger,
    ...(options.secretsTtlMs !== undefined ? { ttlMs: options.secretsTtlMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const start = (): Promise<Inner> =>
    current().then(
      (built) => built.inner,
      (error: unknown) => {
        logger.error("highpress function failed to start", { error });
        throw error;
      },
    );

  const handler = (async (event: unknown) => {
    let inner: Inner;
    try {
      inner = await start();
    } catch {
      return startFailure();
    }
    try {
      return await inner(event);
    } catch (error) {
      // Nothing here is expected to throw (the app answers its own errors); if it does, the
      // client still gets the envelope, and the log says why.
      logger.error("unexpected error in the Lambda adapter", { error });
      const requestId = randomUUID();
      return refusalAnswer(
        { status: 500, message: "An unexpected error occurred" },
        requestId,
        "UNKNOWN",
        record,
      );
    }
  }) as LambdaHandler;
  handler.warm = start().then(
    () => undefined,
    () => undefined,
  );
  return handler;
}
