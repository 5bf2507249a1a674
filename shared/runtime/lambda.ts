// Lambda support: builds the app once per execution environment from the environment and
// Secrets Manager, during Lambda's init phase, and answers a failed start with a logged
// error and a 503 envelope (not a bare 502); the next invocation tries again.

import { randomUUID } from "node:crypto";
import { ConfigError } from "../domain/errors.ts";
import { appSettings, createApp } from "../http/http-app.ts";
import { envelope, STATUS_TITLES } from "../http/http-errors.ts";
import { emfLine, type RequestRecord } from "../http/observe.ts";
import { answerHeaders } from "../http/pipeline.ts";
import type { FunctionId } from "../http/routes.ts";
import { createStore } from "../stores/create.ts";
import { loadConfig } from "./config.ts";
import { lambdaPlatform, type ProxyResult, type Refusal, toResult, translate } from "./lambda-adapter.ts";
import { createLogger, type Logger } from "./logger.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Reads a secret's string value by name or ARN. */
export type SecretReader = (id: string) => Promise<string>;

export interface LambdaOptions {
  /** Default: process.env. */
  env?: Env;
  /** Default: Secrets Manager through the Lambda runtime's own AWS SDK. */
  readSecret?: SecretReader;
  /** Default: JSON lines on stdout at LOG_LEVEL. */
  logger?: Logger;
  /** Where the per-request EMF lines go. Default: stdout, where CloudWatch reads them. */
  emit?: (line: string) => void;
}

export interface LambdaHandler {
  /** Takes any event; always answers (never throws). */
  (event: unknown, context?: unknown): Promise<ProxyResult>;
  /** Settles when the first start attempt has (a function awaits it in its init phase). */
  warm: Promise<void>;
}

/** Variables whose value is read from the secret named by `<VARIABLE>_SECRET` (name or ARN). */
const SECRET_BACKED = ["UPSTASH_REDIS_REST_TOKEN", "API_KEYS", "ADMIN_KEYS"] as const;

const readSecretFromAws: SecretReader = async (id) => {
  // Provided by the Lambda runtime; the bundler leaves @aws-sdk/* out.
  const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
  const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: id }));
  if (out.SecretString === undefined) throw new ConfigError(`secret ${id} has no string value`);
  return out.SecretString;
};

/** API and admin keys may be stored as a JSON array of strings or as a comma-separated list. */
function keysFrom(name: string, value: string): string {
  const text = value.trim();
  if (!text.startsWith("[")) return text;
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || !parsed.every((k) => typeof k === "string")) {
    throw new ConfigError(`${name}_SECRET: must hold a JSON array of strings or a comma-separated list`);
  }
  return parsed.join(",");
}

async function resolveSecrets(env: Env, readSecret: SecretReader): Promise<Env> {
  const resolved: Record<string, string | undefined> = { ...env };
  await Promise.all(
    SECRET_BACKED.map(async (name) => {
      const id = env[`${name}_SECRET`];
      if (!id) return;
      if (env[name]) throw new ConfigError(`${name}: set it or ${name}_SECRET, not both`);
      let value: string;
      try {
        value = await readSecret(id);
      } catch (error) {
        throw new ConfigError(`${name}_SECRET: could not read secret ${id}`, { cause: error });
      }
      resolved[name] = name === "UPSTASH_REDIS_REST_TOKEN" ? value.trim() : keysFrom(name, value);
    }),
  );
  return resolved;
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

export function createLambdaHandler(fn: FunctionId, options: LambdaOptions = {}): LambdaHandler {
  const env = options.env ?? process.env;
  const readSecret = options.readSecret ?? readSecretFromAws;
  const level =
    env.LOG_LEVEL === "debug" || env.LOG_LEVEL === "warn" || env.LOG_LEVEL === "error"
      ? env.LOG_LEVEL
      : "info";
  const logger: Logger = options.logger ?? createLogger(level);
  const emit = options.emit ?? ((line: string) => process.stdout.write(`${line}\n`));
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME ?? fn;
  // One line per request: the request log and its CloudWatch metrics (EMF) together.
  const record = (r: RequestRecord) => emit(emfLine(r, functionName));
  type Inner = (event: unknown) => Promise<ProxyResult>;

  let starting: Promise<Inner> | undefined;
  const start = (): Promise<Inner> => {
    starting ??= (async () => {
      const config = loadConfig(await resolveSecrets(env, readSecret));
      const store = await createStore(config, logger);
      // Connect now, in the init phase, so the first request does not pay for it.
      await store.ping().catch((error: unknown) => logger.warn("store not reachable at start", { error }));
      const app = createApp(
        { store, ...appSettings(config), logger, platform: lambdaPlatform, observe: record },
        fn,
      );
      logger.info("highpress function ready", {
        function: fn,
        store: config.store,
        writes: config.apiKeys.length > 0 ? "require an API key" : "OPEN: no API keys configured",
        admin: config.adminKeys.length > 0 ? "on" : "off",
      });
      return async (event: unknown) => {
        const translated = translate(event);
        if ("refusal" in translated) {
          const id = translated.event?.requestContext?.requestId;
          const requestId = typeof id === "string" && id ? id : randomUUID();
          return refusalAnswer(translated.refusal, requestId, translated.method, record);
        }
        return toResult(await app.fetch(translated.request, translated.bindings));
      };
    })().catch((error: unknown) => {
      starting = undefined;
      logger.error("highpress function failed to start", { error });
      throw error;
    });
    return starting;
  };

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
