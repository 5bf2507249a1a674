// Configuration: parsed once from an environment object (never process.env directly, so
// tests pass their own), each variable checked by its entry in the settings table
// (settings.ts), failing with every bad variable named.

import { ConfigError } from "../domain/errors.ts";
import type { CounterKind, CounterTypes, RateLimits, RateRule, StoreName } from "../domain/model.ts";

export type { RateLimits, RateRule };

import { checkSettings, type LogLevel, RATE } from "./settings.ts";

export type { LogLevel };

export interface Config {
  /** COUNTER_STORE. Default: upstash if UPSTASH_REDIS_REST_URL is set, else redis if REDIS_URL is set, else memory. */
  store: StoreName;
  /** REDIS_URL: redis:// or rediss:// (TLS). On Lambda: the ElastiCache endpoint. */
  redisUrl?: string;
  /** REDIS_CLUSTER: cluster mode, as ElastiCache Serverless always is. Default false. */
  redisCluster: boolean;
  /** UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN. On Lambda the token comes from Secrets Manager. */
  upstashUrl?: string;
  upstashToken?: string;
  /** COUNTER_TYPES, e.g. `like:unique,follow:unique,view:total` (the default). */
  counterTypes: CounterTypes;
  /** KEY_PREFIX of every store key. Default `hp`. */
  keyPrefix: string;
  /** STORE_TIMEOUT_MS: deadline of every store call; past it the request answers 503. Default 1000. */
  storeTimeoutMs: number;
  /** MAX_BODY_BYTES: request bodies above it answer 413 before parsing. Default 65536. */
  maxBodyBytes: number;
  /** RANKING_MAX_MEMBERS: members each ranking of a counter type keeps, the lowest trimmed. Default 10,000. */
  rankingMaxMembers: number;
  /** RANKING_SHARDS: on Redis Cluster, hash tags each ranking is split over. Default 16. */
  rankingShards: number;
  /**
   * PORT and HOST of the local server (unused on Lambda). Default 8080 and 127.0.0.1: a fresh
   * start is reachable from this machine only; a container sets HOST=0.0.0.0.
   */
  port: number;
  host: string;
  /** API_KEYS accepted on writes; empty means writes are open. */
  apiKeys: readonly string[];
  /** ADMIN_KEYS accepted on the admin routes; empty means the admin routes do not exist (404). */
  adminKeys: readonly string[];
  /** READ_AUTH: reads need an API key too. Default false: counters are public. Needs API_KEYS. */
  readAuth: boolean;
  /** CORS_ORIGINS: browser origins allowed to call the API, comma-separated, or *. Default none (no CORS). On Lambda the HTTP API answers CORS (stack context corsOrigins). */
  corsOrigins: readonly string[];
  /**
   * RATE_LIMIT_IP, RATE_LIMIT_KEY, RATE_LIMIT_USER: `N/S`, at most N requests every S
   * seconds per client address, per API key, and per user_id (writes). Default: no limit.
   * Counted in the store, so they hold across Lambda instances.
   */
  rateLimits: RateLimits;
  /** AUTH_FAILURE_LIMIT: `N/S`, failed authentications per client address before 429 (only with API_KEYS). Default 20/60. */
  authFailureLimit: RateRule;
  /** REQUEST_TIMEOUT_MS: local server, whole-request deadline including the body (408). Default 30000. */
  requestTimeoutMs: number;
  /** MAX_CONNECTIONS: local server, open connections at most. Default 10000. */
  maxConnections: number;
  /** LOG_LEVEL: debug, info, warn or error. Default info. */
  logLevel: LogLevel;
}

const TYPE_NAME = /^[a-z][a-z0-9_]{0,31}$/;

function parseCounterTypes(raw: string): CounterTypes | string {
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

function rateRule(value: string | undefined): RateRule | undefined {
  const match = value?.match(RATE);
  return match ? { limit: Number(match[1]), windowMs: Number(match[2]) * 1000 } : undefined;
}

/** A comma-separated list of keys, blanks dropped. */
const keyList = (raw: string | undefined): string[] =>
  (raw ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");

/** Reads the configuration; throws one ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  // Empty strings count as unset, as shells and .env files often leave them.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const { values: e, problems } = checkSettings(present);
  // Checks that span variables run on the raw values too, so one message names them all.
  const raw = present as Record<string, string | undefined>;
  const counterTypes = parseCounterTypes(e.COUNTER_TYPES as string);
  if (typeof counterTypes === "string") problems.push(`COUNTER_TYPES: ${counterTypes}`);
  const store = (raw.COUNTER_STORE ??
    (raw.UPSTASH_REDIS_REST_URL ? "upstash" : raw.REDIS_URL ? "redis" : "memory")) as StoreName;
  if (store === "redis" && !raw.REDIS_URL) problems.push("REDIS_URL: required when COUNTER_STORE is redis");
  if (store === "upstash" && !raw.UPSTASH_REDIS_REST_URL) {
    problems.push("UPSTASH_REDIS_REST_URL: required when COUNTER_STORE is upstash");
  }
  if (store === "upstash" && !raw.UPSTASH_REDIS_REST_TOKEN) {
    problems.push("UPSTASH_REDIS_REST_TOKEN: required when COUNTER_STORE is upstash");
  }
  const apiKeys = keyList(raw.API_KEYS);
  if (apiKeys.some((k) => k.length < 16)) problems.push("API_KEYS: every key must be at least 16 characters");
  const adminKeys = keyList(raw.ADMIN_KEYS);
  if (adminKeys.some((k) => k.length < 16))
    problems.push("ADMIN_KEYS: every key must be at least 16 characters");
  if (adminKeys.some((k) => apiKeys.includes(k)))
    problems.push("ADMIN_KEYS: a key must not also be in API_KEYS");
  if ((raw.READ_AUTH === "true" || raw.READ_AUTH === "1") && apiKeys.length === 0) {
    problems.push("READ_AUTH: needs API_KEYS, or no one could read");
  }
  if (problems.length > 0 || typeof counterTypes === "string") {
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`, { problems });
  }

  const config: Config = {
    store,
    redisCluster: e.REDIS_CLUSTER === "true" || e.REDIS_CLUSTER === "1",
    counterTypes,
    keyPrefix: e.KEY_PREFIX as string,
    storeTimeoutMs: Number(e.STORE_TIMEOUT_MS),
    maxBodyBytes: Number(e.MAX_BODY_BYTES),
    rankingMaxMembers: Number(e.RANKING_MAX_MEMBERS),
    rankingShards: Number(e.RANKING_SHARDS),
    port: Number(e.PORT),
    host: e.HOST as string,
    apiKeys,
    adminKeys,
    readAuth: e.READ_AUTH === "true" || e.READ_AUTH === "1",
    corsOrigins: (e.CORS_ORIGINS ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
    rateLimits: {},
    authFailureLimit: rateRule(e.AUTH_FAILURE_LIMIT) ?? { limit: 20, windowMs: 60_000 },
    requestTimeoutMs: Number(e.REQUEST_TIMEOUT_MS),
    maxConnections: Number(e.MAX_CONNECTIONS),
    logLevel: e.LOG_LEVEL as LogLevel,
  };
  for (const [name, value] of [
    ["ip", e.RATE_LIMIT_IP],
    ["key", e.RATE_LIMIT_KEY],
    ["user", e.RATE_LIMIT_USER],
  ] as const) {
    const rule = rateRule(value);
    if (rule) config.rateLimits[name] = rule;
  }
  if (e.REDIS_URL) config.redisUrl = e.REDIS_URL;
  if (e.UPSTASH_REDIS_REST_URL) config.upstashUrl = e.UPSTASH_REDIS_REST_URL;
  if (e.UPSTASH_REDIS_REST_TOKEN) config.upstashToken = e.UPSTASH_REDIS_REST_TOKEN;
  return config;
}
