// Secrets of a Lambda function: variables whose value lives in Secrets Manager, named by
// `<VARIABLE>_SECRET`, read once per execution environment before the configuration.

import { ConfigError } from "../domain/errors.ts";

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
