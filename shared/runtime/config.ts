// Configuration: parsed once from an environment object (never process.env directly, so
// tests pass their own). Each variable is checked and parsed by its entry in the settings
// table (settings.ts), which also makes the Config type; what spans variables (which store,
// what it needs, keys that must not overlap) is checked here, every bad variable named.

import { ConfigError } from "../domain/errors.ts";
import type { RateLimits, RateRule, StoreName } from "../domain/model.ts";
import { checkSettings, type LogLevel, type SettingValues, settingValues } from "./settings.ts";

export type { LogLevel, RateLimits, RateRule };

/** The settings table's values, with the store it picks when COUNTER_STORE is not set. */
export type Config = Omit<SettingValues, "store"> & { store: StoreName };

/** The rules that span variables, as problems. */
function crossProblems(
  raw: Readonly<Record<string, string | undefined>>,
  values: SettingValues,
  store: StoreName,
) {
  const problems: string[] = [];
  if (store === "redis" && !raw.REDIS_URL) problems.push("REDIS_URL: required when COUNTER_STORE is redis");
  if (store === "upstash" && !raw.UPSTASH_REDIS_REST_URL) {
    problems.push("UPSTASH_REDIS_REST_URL: required when COUNTER_STORE is upstash");
  }
  if (store === "upstash" && !raw.UPSTASH_REDIS_REST_TOKEN) {
    problems.push("UPSTASH_REDIS_REST_TOKEN: required when COUNTER_STORE is upstash");
  }
  const { apiKeys, adminKeys } = values;
  if (apiKeys.some((k) => k.length < 16)) problems.push("API_KEYS: every key must be at least 16 characters");
  if (adminKeys.some((k) => k.length < 16))
    problems.push("ADMIN_KEYS: every key must be at least 16 characters");
  if (adminKeys.some((k) => apiKeys.includes(k)))
    problems.push("ADMIN_KEYS: a key must not also be in API_KEYS");
  if (values.readAuth && apiKeys.length === 0)
    problems.push("READ_AUTH: needs API_KEYS, or no one could read");
  if (store === "memory" && values.workers !== undefined && values.workers > 1)
    problems.push("WORKERS: the memory store counts inside one process: above 1 needs Redis or Upstash");
  return problems;
}

/** Reads the configuration; throws one ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  // Empty strings count as unset, as shells and .env files often leave them.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const { values: checked, problems } = checkSettings(present);
  // Parsing never throws: a bad value's problem is already listed, and then nothing is returned.
  const values = settingValues(checked);
  const store =
    values.store ?? (present.UPSTASH_REDIS_REST_URL ? "upstash" : present.REDIS_URL ? "redis" : "memory");
  problems.push(...crossProblems(present, values, store));
  if (problems.length > 0)
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`, { problems });
  return { ...values, store };
}

/** The per-address, per-key and per-user limits the configuration sets (RATE_LIMIT_*). */
export function rateLimitsOf(config: Config): RateLimits {
  const limits: RateLimits = {};
  if (config.rateLimitIp) limits.ip = config.rateLimitIp;
  if (config.rateLimitKey) limits.key = config.rateLimitKey;
  if (config.rateLimitUser) limits.user = config.rateLimitUser;
  return limits;
}
