// Lambda support: builds the app once per execution environment from the environment and
// Secrets Manager, during Lambda's init phase, and answers a failed start with a logged
// error and a 503 envelope (not a bare 502); the next invocation tries again.

import type { APIGatewayProxyResult, LambdaContext, LambdaEvent } from "hono/aws-lambda";
import { handle } from "hono/aws-lambda";
import { ConfigError, STATUS_TITLES } from "../domain/errors.ts";
import { appSettings, createApp, type RouteGroup } from "../http/http-app.ts";
import { emfLine } from "../http/observe.ts";
import { createStore } from "../stores/create.ts";
import { loadConfig } from "./config.ts";
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
  (event: LambdaEvent, context?: LambdaContext): Promise<APIGatewayProxyResult>;
  /** Settles when the first start attempt has (a function awaits it in its init phase). */
  warm: Promise<void>;
}

/** Variables whose value is read from the secret named by `<VARIABLE>_SECRET` (name or ARN). */
const SECRET_BACKED = ["UPSTASH_REDIS_REST_TOKEN", "API_KEYS"] as const;

const readSecretFromAws: SecretReader = async (id) => {
  // Provided by the Lambda runtime; the bundler leaves @aws-sdk/* out.
  const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
  const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: id }));
  if (out.SecretString === undefined) throw new ConfigError(`secret ${id} has no string value`);
  return out.SecretString;
};

/** API keys may be stored as a JSON array of strings or as a comma-separated list. */
function apiKeysFrom(value: string): string {
  const text = value.trim();
  if (!text.startsWith("[")) return text;
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || !parsed.every((k) => typeof k === "string")) {
    throw new ConfigError("API_KEYS_SECRET: must hold a JSON array of strings or a comma-separated list");
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
      resolved[name] = name === "API_KEYS" ? apiKeysFrom(value) : value.trim();
    }),
  );
  return resolved;
}

function startFailure(): APIGatewayProxyResult {
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

export function createLambdaHandler(
  groups: readonly RouteGroup[],
  options: LambdaOptions = {},
): LambdaHandler {
  const env = options.env ?? process.env;
  const readSecret = options.readSecret ?? readSecretFromAws;
  const level =
    env.LOG_LEVEL === "debug" || env.LOG_LEVEL === "warn" || env.LOG_LEVEL === "error"
      ? env.LOG_LEVEL
      : "info";
  const logger: Logger = options.logger ?? createLogger(level);
  const emit = options.emit ?? ((line: string) => process.stdout.write(`${line}\n`));
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME ?? groups.join("+");
  type Inner = (event: LambdaEvent, context?: LambdaContext) => Promise<APIGatewayProxyResult>;

  let starting: Promise<Inner> | undefined;
  const start = (): Promise<Inner> => {
    starting ??= (async () => {
      const config = loadConfig(await resolveSecrets(env, readSecret));
      const store = await createStore(config, logger);
      // Connect now, in the init phase, so the first request does not pay for it.
      await store.ping().catch((error: unknown) => logger.warn("store not reachable at start", { error }));
      const app = createApp({
        store,
        ...appSettings(config),
        logger,
        // One line per request: the request log and its CloudWatch metrics (EMF) together.
        observe: (record) => emit(emfLine(record, functionName)),
      });
      logger.info("highpress function ready", {
        routes: groups,
        store: config.store,
        writes: config.apiKeys.length > 0 ? "require an API key" : "OPEN: no API keys configured",
      });
      return handle(app) as Inner;
    })().catch((error: unknown) => {
      starting = undefined;
      logger.error("highpress function failed to start", { error });
      throw error;
    });
    return starting;
  };

  const handler = (async (event: LambdaEvent, context?: LambdaContext) => {
    let inner: Inner;
    try {
      inner = await start();
    } catch {
      return startFailure();
    }
    return inner(event, context);
  }) as LambdaHandler;
  handler.warm = start().then(
    () => undefined,
    () => undefined,
  );
  return handler;
}
