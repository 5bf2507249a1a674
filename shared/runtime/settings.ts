// Every setting, declared once: its environment variable, what it means, its default, the
// rule a value must follow, and where it applies (everywhere, with the CDK context key that
// sets it on Lambda; the local server only; or set by the stack itself). loadConfig checks
// values by it, the stack derives its app settings and context keys from it, and
// `.env.example` and the configuration table of docs/operations.md are written from it
// (`npm run docs`; a test fails when they drift).

import { DEFAULT_RANKING_MAX_MEMBERS, DEFAULT_RANKING_SHARDS } from "../domain/model.ts";

/** LOG_LEVEL's values, from the most to the least verbose. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How a CDK context value is read before it becomes the variable. */
export type ContextKind = "text" | "integer" | "flag";

export interface Setting {
  variable: string;
  /** One line: what it means (the docs' table and .env.example). */
  meaning: string;
  /** The default, as the variable would be written; none when absent. */
  fallback?: string;
  /** The default as the docs say it, when it is not a plain value. */
  fallbackText?: string;
  /** An example value for .env.example, when the default is none or says little. */
  example?: string;
  /** What is wrong with a present value, or undefined when it is fine. */
  problem?: (value: string) => string | undefined;
  /**
   * Where it applies: `context` the stack passes it to every function from that context key;
   * `local` the local server and the tools only; `stack` the stack sets it itself (the store's
   * address, secrets).
   */
  where: { context: string; kind: ContextKind } | "local" | "stack";
}

/** `N/S`: at most N every S seconds. */
export const RATE = /^(\d{1,9})\/(\d{1,6})$/;

type Rule = (value: string) => string | undefined;

function integer(min: number, max: number): Rule {
  return (value) =>
    /^\d+$/.test(value.trim()) && Number(value) >= min && Number(value) <= max
      ? undefined
      : `must be an integer from ${min} to ${max}`;
}

function oneOf(values: readonly string[], message: string): Rule {
  return (value) => (values.includes(value) ? undefined : message);
}

function pattern(regex: RegExp, message: string): Rule {
  return (value) => (regex.test(value) ? undefined : message);
}

const BOOLEAN = oneOf(["true", "false", "1", "0"], "must be true or false");
const RATE_RULE = pattern(RATE, "must be N/S: at most N requests every S seconds");

export const SETTINGS: readonly Setting[] = [
  {
    variable: "COUNTER_STORE",
    meaning: "where counters live: `memory`, `redis` or `upstash`",
    fallbackText:
      "`upstash` if `UPSTASH_REDIS_REST_URL` is set, else `redis` if `REDIS_URL` is set, else `memory`",
    example: "redis",
    problem: oneOf(["memory", "redis", "upstash"], "must be memory, redis or upstash"),
    where: "stack",
  },
  {
    variable: "REDIS_URL",
    meaning: "Redis over TCP (ioredis): `redis://`, or `rediss://` for TLS",
    example: "redis://127.0.0.1:6379",
    problem: pattern(/^rediss?:\/\/\S+$/, "must be a redis:// or rediss:// URL"),
    where: "stack",
  },
  {
    variable: "REDIS_CLUSTER",
    meaning: "`true` for cluster mode, as ElastiCache Serverless always is",
    fallback: "false",
    problem: BOOLEAN,
    where: "stack",
  },
  {
    variable: "UPSTASH_REDIS_REST_URL",
    meaning: "Upstash over REST (@upstash/redis): the database's REST URL",
    example: "https://your-db.upstash.io",
    problem: pattern(/^https?:\/\/\S+$/, "must be an http(s) URL"),
    where: "stack",
  },
  {
    variable: "UPSTASH_REDIS_REST_TOKEN",
    meaning: "the Upstash REST token (on Lambda, read from Secrets Manager)",
    problem: (value) => (value.trim() === "" ? "must not be empty" : undefined),
    where: "stack",
  },
  {
    variable: "COUNTER_TYPES",
    meaning: "counter types and their kind: `unique` (one per user) or `total` (a plain sum)",
    fallback: "like:unique,follow:unique,view:total",
    where: { context: "counterTypes", kind: "text" },
  },
  {
    variable: "KEY_PREFIX",
    meaning: "prefix of every store key",
    fallback: "hp",
    problem: pattern(/^[A-Za-z0-9_.:-]{1,32}$/, "must be 1-32 characters from A-Z a-z 0-9 _ . : -"),
    where: { context: "keyPrefix", kind: "text" },
  },
  {
    variable: "STORE_TIMEOUT_MS",
    meaning: "deadline of every store call, in ms; past it the request answers 503",
    fallback: "1000",
    problem: integer(10, 60_000),
    where: { context: "storeTimeoutMs", kind: "integer" },
  },
  {
    variable: "MAX_BODY_BYTES",
    meaning: "larger request bodies answer 413 before they are read, on every route",
    fallback: "65536",
    problem: integer(256, 10 * 1024 * 1024),
    where: { context: "maxBodyBytes", kind: "integer" },
  },
  {
    variable: "RANKING_MAX_MEMBERS",
    meaning: "members each ranking of a counter type keeps (all-time, hour, day, week); the lowest go",
    fallback: String(DEFAULT_RANKING_MAX_MEMBERS),
    problem: integer(100, 10_000_000),
    where: { context: "rankingMaxMembers", kind: "integer" },
  },
  {
    variable: "RANKING_SHARDS",
    meaning: "Redis Cluster only: hash tags each ranking is split over, so its writes spread over the nodes",
    fallback: String(DEFAULT_RANKING_SHARDS),
    problem: integer(1, 1024),
    where: { context: "rankingShards", kind: "integer" },
  },
  {
    variable: "PORT",
    meaning: "the local server's port",
    fallback: "8080",
    problem: integer(0, 65_535),
    where: "local",
  },
  {
    variable: "HOST",
    meaning:
      "the address the local server listens on: `127.0.0.1` this machine only, `0.0.0.0` every interface (a container)",
    fallback: "127.0.0.1",
    problem: (value) => (value === "" ? "must not be empty" : undefined),
    where: "local",
  },
  {
    variable: "API_KEYS",
    meaning:
      "keys (16+ characters, comma-separated) that writes need, as `Authorization: Bearer <key>` or `x-api-key`; unset: writes are open, and the server says so",
    where: "stack",
  },
  {
    variable: "ADMIN_KEYS",
    meaning:
      "keys of the admin routes (16+ characters, none also in API_KEYS); unset: those routes do not exist (404)",
    where: "stack",
  },
  {
    variable: "RATE_LIMIT_IP",
    meaning:
      "`N/S`: at most N requests every S seconds per client address (IPv6 per /64), counted in the store",
    fallbackText: "no limit",
    example: "600/60",
    problem: RATE_RULE,
    where: { context: "rateLimitIp", kind: "text" },
  },
  {
    variable: "RATE_LIMIT_KEY",
    meaning: "`N/S`: at most N requests every S seconds per API key",
    fallbackText: "no limit",
    example: "6000/60",
    problem: RATE_RULE,
    where: { context: "rateLimitKey", kind: "text" },
  },
  {
    variable: "RATE_LIMIT_USER",
    meaning: "`N/S`: at most N writes every S seconds per user_id (a batch counts each item)",
    fallbackText: "no limit",
    example: "60/60",
    problem: RATE_RULE,
    where: { context: "rateLimitUser", kind: "text" },
  },
  {
    variable: "AUTH_FAILURE_LIMIT",
    meaning:
      "`N/S`: wrong or missing keys per client address before 429; while it holds, every keyed request from it is a 429, whatever the key",
    fallback: "20/60",
    problem: pattern(RATE, "must be N/S: at most N failures every S seconds"),
    where: "stack",
  },
  {
    variable: "READ_AUTH",
    meaning:
      "`true`: reads need a key too (needs API_KEYS), and so do /metrics, /openapi.json and /docs; /health stays open",
    fallback: "false",
    problem: BOOLEAN,
    where: { context: "readAuth", kind: "flag" },
  },
  {
    variable: "REQUEST_TIMEOUT_MS",
    meaning: "the local server: the whole request, body included, within this many ms (else 408)",
    fallback: "30000",
    problem: integer(1000, 600_000),
    where: "local",
  },
  {
    variable: "MAX_CONNECTIONS",
    meaning: "the local server: open connections at most",
    fallback: "10000",
    problem: integer(1, 1_000_000),
    where: "local",
  },
  {
    variable: "CORS_ORIGINS",
    meaning:
      "browser origins allowed to call the API, comma-separated, or `*` (on Lambda the HTTP API answers CORS: `-c corsOrigins=`)",
    fallbackText: "none",
    example: "https://app.example.com",
    problem: (value) =>
      value.split(",").every((o) => o.trim() === "*" || /^https?:\/\/[^/\s]+$/.test(o.trim()))
        ? undefined
        : "must be * or comma-separated origins such as https://app.example.com",
    where: "local",
  },
  {
    variable: "LOG_LEVEL",
    meaning:
      "`debug`, `info`, `warn` or `error` (on Lambda also the application log level Lambda filters by)",
    fallback: "info",
    problem: oneOf(LOG_LEVELS, "must be debug, info, warn or error"),
    where: { context: "logLevel", kind: "text" },
  },
];

/** The settings the stack passes to every function, by their context key. */
export const CONTEXT_SETTINGS: readonly (Setting & { where: { context: string; kind: ContextKind } })[] =
  SETTINGS.filter(
    (s): s is Setting & { where: { context: string; kind: ContextKind } } => typeof s.where === "object",
  );

/** Each present value checked; the values with defaults filled in; every problem as `VARIABLE: what`. */
export function checkSettings(present: Readonly<Record<string, string | undefined>>): {
  values: Record<string, string | undefined>;
  problems: string[];
} {
  const values: Record<string, string | undefined> = {};
  const problems: string[] = [];
  for (const s of SETTINGS) {
    const value = present[s.variable];
    const problem = value === undefined ? undefined : s.problem?.(value);
    if (problem) problems.push(`${s.variable}: ${problem}`);
    values[s.variable] = value ?? s.fallback;
  }
  return { values, problems };
}
