// Secrets of a Lambda function: variables whose value lives in Secrets Manager, named by
// `<VARIABLE>_SECRET`, read before the configuration, and again every SECRETS_TTL_MS so that a
// rotated token or key takes effect without a deploy.

import { ConfigError } from "../domain/errors.ts";
import type { Logger } from "../domain/logger.ts";

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads a secret's string value by name or ARN. */
export type SecretReader = (id: string) => Promise<string>;

/** Variables whose value is read from the secret named by `<VARIABLE>_SECRET` (name or ARN). */
const SECRET_BACKED = ["UPSTASH_REDIS_REST_TOKEN", "API_KEYS", "ADMIN_KEYS"] as const;

export const readSecretFromAws: SecretReader = async (id) => {
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

export async function resolveSecrets(env: Env, readSecret: SecretReader): Promise<Env> {
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

/**
 * The environment with each secret-backed value as loadConfig reads it, for a process whose
 * platform put a secret's string straight into its variable (ECS container secrets): keys
 * stored as a JSON array become a comma-separated list, the token is trimmed.
 */
export function secretValuesAsGiven(env: Env): Env {
  const out: Record<string, string | undefined> = { ...env };
  for (const name of SECRET_BACKED) {
    const value = env[name];
    if (value !== undefined)
      out[name] = name === "UPSTASH_REDIS_REST_TOKEN" ? value.trim() : keysFrom(name, value);
  }
  return out;
}

/** How long read secrets are trusted before they are read again: a rotation takes effect within it. */
export const SECRETS_TTL_MS = 5 * 60_000;

export interface RotationOptions {
  /** Default SECRETS_TTL_MS. */
  ttlMs?: number;
  /** Default Date.now; tests move it. */
  clock?: () => number;
  /** Told when a re-read fails and the last good value goes on serving. */
  logger: Pick<Logger, "warn">;
}

/** The secret-backed values of a resolved environment, as one comparable string. */
const secretValues = (env: Env): string => JSON.stringify(SECRET_BACKED.map((name) => env[name] ?? null));

/** How long a replaced value is kept before it is closed: longer than any request or batch runs. */
const RETIRE_AFTER_MS = 60_000;

/**
 * Builds a value (an app, a store) from the environment with its secrets resolved, and reads
 * the secrets again once they are older than the TTL: when one changed (a rotated token or
 * key), the value is built anew and the old one closed a minute later (after in-flight work);
 * when the read fails, the last good value goes on serving, and the logger says so.
 * Concurrent callers share one read. A first build that fails throws; the next call retries.
 */
export function rebuiltOnRotation<T extends { close(): Promise<void> }>(
  env: Env,
  readSecret: SecretReader,
  build: (resolved: Env) => Promise<T>,
  options: RotationOptions,
): () => Promise<T> {
  const ttl = options.ttlMs ?? SECRETS_TTL_MS;
  const clock = options.clock ?? Date.now;
  let current: { value: T; secrets: string; checkedAt: number } | undefined;
  let pending: Promise<T> | undefined;
  const refresh = async (): Promise<T> => {
    try {
      const resolved = await resolveSecrets(env, readSecret);
      const secrets = secretValues(resolved);
      if (current && current.secrets === secrets) {
        current.checkedAt = clock();
        return current.value;
      }
      const value = await build(resolved);
      const old = current;
      current = { value, secrets, checkedAt: clock() };
      if (old) setTimeout(() => void old.value.close().catch(() => {}), RETIRE_AFTER_MS).unref();
      return value;
    } catch (error) {
      if (!current) throw error;
      options.logger.warn("secrets could not be read again; the last ones go on serving", { error });
      current.checkedAt = clock();
      return current.value;
    }
  };
  return () => {
    if (current && clock() - current.checkedAt < ttl) return Promise.resolve(current.value);
    pending ??= refresh().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
