// Every setting, declared once: its environment variable, what it means, its default, the
// rule a value must follow, and where it applies (everywhere, with the CDK context key that
// sets it on Lambda; the local server only; or set by the stack itself). loadConfig checks
// values by it, the stack derives its app settings and context keys from it, and
// `.env.example` and the configuration table of docs/operations.md are written from it
// (`npm run docs`; a test fails when they drift).

import { DEFAULT_HISTORY_DAYS } from "../domain/history.ts";
import { DEFAULT_LIVE_INTERVAL_MS } from "../domain/live.ts";
import {
  type CounterKind,
  type CounterTypes,
  DEFAULT_RANKING_MAX_MEMBERS,
  DEFAULT_RANKING_SHARDS,
  IDEMPOTENCY_TTL_MS,
  type RateRule,
  type StoreName,
} from "../domain/model.ts";

/** LOG_LEVEL's values, from the most to the least verbose. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** LOG_LEVEL's default: the table's entry says it, and code that logs before the whole configuration reads it here. */
export const DEFAULT_LOG_LEVEL: LogLevel = "info";

/** How a CDK context value is read before it becomes the variable. */
export type ContextKind = "text" | "integer" | "flag";

/** Where a setting applies (see Setting.where). */
export type Where = { context: string; kind: ContextKind } | "local" | "stack";

export interface Setting<F extends string = string, T = unknown, W extends Where = Where> {
  variable: string;
  /** Its field in Config (config.ts), which is made from this table. */
  field: F;
  /** Its value in Config, from the checked value (the default filled in; undefined when none). */
  parse: (value: string | undefined) => T;
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
  where: W;
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

// What a checked value becomes in Config.
const text = (value: string | undefined): string => value ?? "";
const optionalText = (value: string | undefined): string | undefined => value;
const number = (value: string | undefined): number => Number(value);
const flag = (value: string | undefined): boolean => value === "true" || value === "1";
/** A comma-separated list, blanks dropped. */
const list = (value: string | undefined): readonly string[] =>
  (value ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
function rateRule(value: string | undefined): RateRule | undefined {
  const match = value?.match(RATE);
  return match ? { limit: Number(match[1]), windowMs: Number(match[2]) * 1000 } : undefined;
}

const TYPE_NAME = /^[a-z][a-z0-9_]{0,31}$/;

/** COUNTER_TYPES as a map, or what is wrong with it. */
function counterTypesOf(raw: string): CounterTypes | string {
  const types = new Map<string, CounterKind>();
  for (const entry of raw.split(",")) {
    const [name = "", kind = "", ...rest] = entry.trim().split(":");
    if (!TYPE_NAME.test(name) || (kind !== "unique" && kind !== "total") || rest.length > 0) {
      return `entry "${entry.trim()}" must be name:unique or name:total (name: lowercase letters, digits, _)`;
    }
    if (types.has(name)) return `type "${name}" is listed twice`;
    types.set(name, kind);
  }
  return types;
}

/** An entry of the table, its field's name and type kept for Config. */
const setting = <F extends string, T, const W extends Where>(s: Setting<F, T, W>): Setting<F, T, W> => s;

export const SETTINGS = [
  setting({
    variable: "COUNTER_STORE",
    field: "store",
    parse: (value) => value as StoreName | undefined,
    meaning: "where counters live: `memory`, `redis` or `upstash`",
    fallbackText:
      "`upstash` if `UPSTASH_REDIS_REST_URL` is set, else `redis` if `REDIS_URL` is set, else `memory`",
    example: "redis",
    problem: oneOf(["memory", "redis", "upstash"], "must be memory, redis or upstash"),
    where: "stack",
  }),
  setting({
    variable: "REDIS_URL",
    field: "redisUrl",
    parse: optionalText,
    meaning: "Redis over TCP (ioredis): `redis://`, or `rediss://` for TLS",
    example: "redis://127.0.0.1:6379",
    problem: pattern(/^rediss?:\/\/\S+$/, "must be a redis:// or rediss:// URL"),
    where: "stack",
  }),
  setting({
    variable: "REDIS_CLUSTER",
    field: "redisCluster",
    parse: flag,
    meaning: "`true` for cluster mode, as ElastiCache Serverless always is",
    fallback: "false",
    problem: BOOLEAN,
    where: "stack",
  }),
  setting({
    variable: "UPSTASH_REDIS_REST_URL",
    field: "upstashUrl",
    parse: optionalText,
    meaning: "Upstash over REST (@upstash/redis): the database's REST URL",
    example: "https://your-db.upstash.io",
    problem: pattern(/^https?:\/\/\S+$/, "must be an http(s) URL"),
    where: "stack",
  }),
  setting({
    variable: "UPSTASH_REDIS_REST_TOKEN",
    field: "upstashToken",
    parse: optionalText,
    meaning: "the Upstash REST token (on Lambda, read from Secrets Manager)",
    problem: (value) => (value.trim() === "" ? "must not be empty" : undefined),
    where: "stack",
  }),
  setting({
    variable: "COUNTER_TYPES",
    field: "counterTypes",
    parse: (value) => counterTypesOf(text(value)) as CounterTypes,
    problem: (value) => {
      const types = counterTypesOf(value);
      return typeof types === "string" ? types : undefined;
    },
    meaning: "counter types and their kind: `unique` (one per user) or `total` (a plain sum)",
    fallback: "like:unique,follow:unique,view:total",
    where: { context: "counterTypes", kind: "text" },
  }),
  setting({
    variable: "KEY_PREFIX",
    field: "keyPrefix",
    parse: text,
    meaning: "prefix of every store key",
    fallback: "hp",
    problem: pattern(/^[A-Za-z0-9_.:-]{1,32}$/, "must be 1-32 characters from A-Z a-z 0-9 _ . : -"),
    where: { context: "keyPrefix", kind: "text" },
  }),
  setting({
    variable: "STORE_TIMEOUT_MS",
    field: "storeTimeoutMs",
    parse: number,
    meaning: "deadline of every store call, in ms; past it the request answers 503",
    fallback: "1000",
    problem: integer(10, 60_000),
    where: { context: "storeTimeoutMs", kind: "integer" },
  }),
  setting({
    variable: "MAX_BODY_BYTES",
    field: "maxBodyBytes",
    parse: number,
    meaning: "larger request bodies answer 413 before they are read, on every route",
    fallback: "65536",
    problem: integer(256, 10 * 1024 * 1024),
    where: { context: "maxBodyBytes", kind: "integer" },
  }),
  setting({
    variable: "IDEMPOTENCY_TTL_MS",
    field: "idempotencyTtlMs",
    parse: number,
    meaning:
      "how long an Idempotency-Key's record answers a retry, in ms (1 minute to 7 days); a keyed request, single or batch, keeps one record that long (queued events' ids are kept 24 h regardless)",
    fallback: String(IDEMPOTENCY_TTL_MS),
    problem: integer(60_000, 7 * 24 * 3_600_000),
    where: { context: "idempotencyTtlMs", kind: "integer" },
  }),
  setting({
    variable: "HISTORY_DAYS",
    field: "historyDays",
    parse: number,
    meaning:
      "days of per-day history each counter keeps (1 to 3,660); a counter's older days are dropped as it is written",
    fallback: String(DEFAULT_HISTORY_DAYS),
    problem: integer(1, 3_660),
    where: { context: "historyDays", kind: "integer" },
  }),
  setting({
    variable: "LIVE_INTERVAL_MS",
    field: "liveIntervalMs",
    parse: number,
    meaning:
      "live counts: a counter's new count is pushed at most once per this many ms (the local server's streams, the AWS publisher)",
    fallback: String(DEFAULT_LIVE_INTERVAL_MS),
    problem: integer(100, 60_000),
    where: { context: "liveIntervalMs", kind: "integer" },
  }),
  setting({
    variable: "LIVE_MAX_CONNECTIONS",
    field: "liveMaxConnections",
    parse: number,
    meaning: "the local server: live streams open at once, per process; more are answered 429",
    fallback: "10000",
    problem: integer(1, 1_000_000),
    where: "local",
  }),
  setting({
    variable: "LIVE_MAX_PER_ADDRESS",
    field: "liveMaxPerAddress",
    parse: number,
    meaning:
      "the local server: live streams open at once from one client address, per process; more are answered 429",
    fallback: "20",
    problem: integer(1, 1_000_000),
    where: "local",
  }),
  setting({
    variable: "RANKING_MAX_MEMBERS",
    field: "rankingMaxMembers",
    parse: number,
    meaning: "members each ranking of a counter type keeps (all-time, each hour and day); the lowest go",
    fallback: String(DEFAULT_RANKING_MAX_MEMBERS),
    problem: integer(100, 10_000_000),
    where: { context: "rankingMaxMembers", kind: "integer" },
  }),
  setting({
    variable: "RANKING_SHARDS",
    field: "rankingShards",
    parse: number,
    meaning: "Redis Cluster only: hash tags each ranking is split over, so its writes spread over the nodes",
    fallback: String(DEFAULT_RANKING_SHARDS),
    problem: integer(1, 1024),
    where: { context: "rankingShards", kind: "integer" },
  }),
  setting({
    variable: "PORT",
    field: "port",
    parse: number,
    meaning: "the local server's port",
    fallback: "8080",
    problem: integer(0, 65_535),
    where: "local",
  }),
  setting({
    variable: "HOST",
    field: "host",
    parse: text,
    meaning:
      "the address the local server listens on: `127.0.0.1` this machine only, `0.0.0.0` every interface (a container)",
    fallback: "127.0.0.1",
    problem: (value) => (value === "" ? "must not be empty" : undefined),
    where: "local",
  }),
  setting({
    variable: "API_KEYS",
    field: "apiKeys",
    parse: list,
    meaning:
      "keys (16+ characters, comma-separated) that writes need, as `Authorization: Bearer <key>` or `x-api-key`; unset: writes are open, and the server says so",
    where: "stack",
  }),
  setting({
    variable: "ADMIN_KEYS",
    field: "adminKeys",
    parse: list,
    meaning:
      "keys of the admin routes (16+ characters, none also in API_KEYS); unset: those routes do not exist (404)",
    where: "stack",
  }),
  setting({
    variable: "RATE_LIMIT_IP",
    field: "rateLimitIp",
    parse: rateRule,
    meaning:
      "`N/S`: at most N requests every S seconds per client address (IPv6 per /64), counted in the store",
    fallbackText: "no limit",
    example: "600/60",
    problem: RATE_RULE,
    where: { context: "rateLimitIp", kind: "text" },
  }),
  setting({
    variable: "RATE_LIMIT_KEY",
    field: "rateLimitKey",
    parse: rateRule,
    meaning: "`N/S`: at most N requests every S seconds per API key",
    fallbackText: "no limit",
    example: "6000/60",
    problem: RATE_RULE,
    where: { context: "rateLimitKey", kind: "text" },
  }),
  setting({
    variable: "RATE_LIMIT_USER",
    field: "rateLimitUser",
    parse: rateRule,
    meaning: "`N/S`: at most N writes every S seconds per user_id (a batch counts each item)",
    fallbackText: "no limit",
    example: "60/60",
    problem: RATE_RULE,
    where: { context: "rateLimitUser", kind: "text" },
  }),
  setting({
    variable: "AUTH_FAILURE_LIMIT",
    field: "authFailureLimit",
    parse: (value) => rateRule(value) as RateRule,
    meaning:
      "`N/S`: wrong or missing keys per client address before 429; while it holds, every keyed request from it is a 429, whatever the key",
    fallback: "20/60",
    problem: pattern(RATE, "must be N/S: at most N failures every S seconds"),
    where: "stack",
  }),
  setting({
    variable: "READ_AUTH",
    field: "readAuth",
    parse: flag,
    meaning:
      "`true`: reads need a key too (needs API_KEYS), and so do /metrics, /openapi.json and /docs; /health stays open",
    fallback: "false",
    problem: BOOLEAN,
    where: { context: "readAuth", kind: "flag" },
  }),
  setting({
    variable: "REQUEST_TIMEOUT_MS",
    field: "requestTimeoutMs",
    parse: number,
    meaning: "the local server: the whole request, body included, within this many ms (else 408)",
    fallback: "30000",
    problem: integer(1000, 600_000),
    where: "local",
  }),
  setting({
    variable: "WORKERS",
    field: "workers",
    parse: (value) => (value === undefined ? undefined : Number(value)),
    meaning: "the local server: processes sharing its port; above 1 needs Redis or Upstash",
    fallbackText: "the CPU count on Redis or Upstash, 1 on the memory store",
    problem: integer(1, 256),
    where: "local",
  }),
  setting({
    variable: "REQUEST_LOG",
    field: "requestLog",
    parse: (value) => (value === "emf" ? ("emf" as const) : ("json" as const)),
    meaning:
      "the local server: each request's log line, `json`, or `emf` with its CloudWatch metrics (Embedded Metric Format; the container target sets it)",
    fallback: "json",
    problem: oneOf(["json", "emf"], "must be json or emf"),
    where: "local",
  }),
  setting({
    variable: "SHUTDOWN_TIMEOUT_MS",
    field: "shutdownTimeoutMs",
    parse: number,
    meaning: "the local server: on SIGTERM, drain and exit 0 within this many ms (else exit 1)",
    fallback: "25000",
    problem: integer(1000, 600_000),
    where: "local",
  }),
  setting({
    variable: "MAX_CONNECTIONS",
    field: "maxConnections",
    parse: number,
    meaning: "the local server: open connections at most",
    fallback: "10000",
    problem: integer(1, 1_000_000),
    where: "local",
  }),
  setting({
    variable: "CORS_ORIGINS",
    field: "corsOrigins",
    parse: list,
    meaning:
      "browser origins allowed to call the API, comma-separated, or `*` (on Lambda the HTTP API answers CORS: `-c corsOrigins=`)",
    fallbackText: "none",
    example: "https://app.example.com",
    problem: (value) =>
      value.split(",").every((o) => o.trim() === "*" || /^https?:\/\/[^/\s]+$/.test(o.trim()))
        ? undefined
        : "must be * or comma-separated origins such as https://app.example.com",
    where: "local",
  }),
  setting({
    variable: "LOG_LEVEL",
    field: "logLevel",
    parse: (value) => value as LogLevel,
    meaning:
      "`debug`, `info`, `warn` or `error` (on Lambda also the application log level Lambda filters by)",
    fallback: DEFAULT_LOG_LEVEL,
    problem: oneOf(LOG_LEVELS, "must be debug, info, warn or error"),
    where: { context: "logLevel", kind: "text" },
  }),
] as const;

/** The settings the stack passes to every function, by their context key. */
export const CONTEXT_SETTINGS: readonly (Setting & { where: { context: string; kind: ContextKind } })[] = (
  SETTINGS as readonly Setting[]
).filter(
  (s): s is Setting & { where: { context: string; kind: ContextKind } } => typeof s.where === "object",
);

type Entry = (typeof SETTINGS)[number];
/** Every CDK context key a setting has: the stack's props take exactly these. */
export type ContextKey = Extract<Entry["where"], { context: string }>["context"];
/** What a context kind takes as a stack prop. */
type ContextValue<K> = K extends "integer" ? number : K extends "flag" ? boolean : string;
/**
 * The stack's props for the app's settings, one optional value per context key, typed by its
 * kind: made from the table, so a setting with a context key is a prop once its entry is.
 */
export type ContextValues = {
  [S in Entry as S["where"] extends { context: infer C extends string } ? C : never]?: S["where"] extends {
    kind: infer K;
  }
    ? ContextValue<K>
    : never;
};
/** Every setting's field with its parsed type: the part of Config the table makes. */
export type SettingValues = { [S in Entry as S["field"]]: ReturnType<S["parse"]> };

/** Each setting's field in Config, from its checked value. */
export function settingValues(values: Readonly<Record<string, string | undefined>>): SettingValues {
  const parsed: Record<string, unknown> = {};
  for (const s of SETTINGS as readonly Setting[]) parsed[s.field] = s.parse(values[s.variable]);
  return parsed as SettingValues;
}

/** Each present value checked; the values with defaults filled in; every problem as `VARIABLE: what`. */
export function checkSettings(present: Readonly<Record<string, string | undefined>>): {
  values: Record<string, string | undefined>;
  problems: string[];
} {
  const values: Record<string, string | undefined> = {};
  const problems: string[] = [];
  for (const s of SETTINGS as readonly Setting[]) {
    const value = present[s.variable];
    const problem = value === undefined ? undefined : s.problem?.(value);
    if (problem) problems.push(`${s.variable}: ${problem}`);
    values[s.variable] = value ?? s.fallback;
  }
  return { values, problems };
}
