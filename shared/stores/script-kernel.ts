// The kernel under the script store's modules: the transport a store adapter gives, the
// shared parts (key layout, scripts, executor with error mapping, ranking keys), and the
// encoding of an increment's keys and arguments and the decoding of its reply. The script
// families (script-store, script-batch, script-events, script-admin, cluster-calls) sit on it
// and on nothing of each other's but cluster-calls; script-store composes them.

import { windowBucketsAt } from "../domain/buckets.ts";
import {
  CountLimitError,
  IdempotencyConflictError,
  RateLimitedError,
  StoreUnavailableError,
} from "../domain/errors.ts";
import { DEFAULT_HISTORY_DAYS, historyWindow } from "../domain/history.ts";
import type { ChangeFeed } from "../domain/live.ts";
import {
  DEFAULT_RANKING_MAX_MEMBERS,
  IDEMPOTENCY_TTL_MS,
  type IncrementCommand,
  type IncrementOutcome,
  MAX_EXACT_COUNT,
  type RateLimit,
  rateWindow,
  type StoreName,
} from "../domain/model.ts";
import { requestFingerprint } from "./fingerprint.ts";
import { KeyLayout } from "./key-layout.ts";
import { ITEM } from "./lua/increment.ts";
import { WINDOW } from "./lua/limits.ts";
import { type LuaScript, type ScriptDialect, STATUS, scriptsFor } from "./scripts.ts";

/** Channels a change feed listens on (pub/sub), opened on its first use. */
export interface PubSub {
  /** Subscribes to a channel, or with `pattern` to every channel its glob matches; resolves once subscribed. */
  subscribe(channel: string, pattern: boolean): Promise<void>;
  unsubscribe(channel: string, pattern: boolean): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens a PubSub whose messages go to `onMessage`: the channel, the message, and the pattern
 * subscribed when it came through one.
 */
export type PubSubOpener = (
  onMessage: (channel: string, message: string, viaPattern?: string) => void,
) => PubSub;

/**
 * The pub/sub of a bundle that carries none (every Lambda function but the live watcher:
 * HP_BUNDLED_CHANGES is "0"), so that the stream readers stay out of it: a watch fails.
 */
const noFeed = async (): Promise<never> => {
  throw new Error("this function's bundle carries no change feed: WatchFunction's does");
};
export const NO_PUBSUB: PubSubOpener = () => ({
  subscribe: noFeed,
  unsubscribe: noFeed,
  close: async () => {},
});
/** The change feed of such a bundle: a watch fails. */
export const NO_CHANGES: ChangeFeed = { watch: noFeed, watchAll: noFeed, close: async () => {} };

/** Carries scripts to the server. Every call settles (answers or fails) within the deadline. */
export interface ScriptTransport {
  evalsha(sha1: string, keys: string[], args: string[]): Promise<unknown>;
  eval(source: string, keys: string[], args: string[]): Promise<unknown>;
  /** A plain PFCOUNT: a read Redis serves also when it refuses writes (scripts with it are writers). */
  pfcount(key: string): Promise<unknown>;
  /** Pages of keys matching a pattern, by SCAN (on a cluster, every master's), for export. */
  scan(match: string): AsyncIterable<string[]>;
  /** Pub/sub on the same server, for the change feed (live counts). */
  pubsub: PubSubOpener;
  close(): Promise<void>;
  /** Redis's error reply (`OOM command not allowed…`) when the error is the store refusing the command. */
  replyOf(error: unknown): string | undefined;
  /** True when the error proves the command never left this process. */
  isNotSent(error: unknown): boolean;
}

export interface ScriptStoreOptions {
  name: Exclude<StoreName, "memory">;
  dialect: ScriptDialect;
  keyPrefix: string;
  timeoutMs: number;
  /** Redis Cluster: keys of different slots go in separate calls. */
  cluster: boolean;
  /** How long an Idempotency-Key is remembered. Default 24 h. */
  idempotencyTtlMs?: number;
  /** Members each ranking keeps, the lowest trimmed. Default 10,000. */
  rankingMaxMembers?: number;
  /** Redis Cluster only: hash tags each ranking is split over. Default 16; 1 elsewhere. */
  rankingShards?: number;
  /** Days of history each counter keeps. Default 400. */
  historyDays?: number;
  /** Told about a failure that does not fail the request (a cluster ranking update). */
  onBackgroundError?: (error: unknown) => void;
}

/** A reply's number: integers may come as strings (counts always do, to stay exact). */
export const num = (v: unknown): number => Number(v);
const NOSCRIPT = /NOSCRIPT/i;

type Exec = (
  what: string,
  write: boolean,
  script: LuaScript,
  keyList: string[],
  args: string[],
) => Promise<unknown>;

/** What the store's parts share: the transport, the key layout, the scripts, and exec. */
export interface Parts {
  transport: ScriptTransport;
  options: ScriptStoreOptions;
  keys: KeyLayout;
  scripts: ReturnType<typeof scriptsFor>;
  exec: Exec;
  mapped: (what: string, write: boolean, error: unknown) => unknown;
  rankingKeys: ReturnType<typeof rankingKeysOf>;
  idempotencyTtl: string;
  rankingCap: string;
  /** The history arguments of a write at an instant: its day, the first day kept, the days kept. */
  historyArgs: (now: number) => HistoryArgs;
}

export interface HistoryArgs {
  day: string;
  keepFrom: string;
  historyDays: string;
}

/** History arguments by instant, kept for the current second (the day changes once a day). */
export function historyArgsOf(keep: number): (now: number) => HistoryArgs {
  let second = Number.NaN;
  let cached: HistoryArgs = { day: "", keepFrom: "", historyDays: "" };
  return (now) => {
    if (Math.floor(now / 1000) === second) return cached;
    second = Math.floor(now / 1000);
    const window = historyWindow(now, keep);
    cached = { day: String(window.day), keepFrom: String(window.keepFrom), historyDays: String(keep) };
    return cached;
  };
}

const MAX_COUNT = String(MAX_EXACT_COUNT);

// What a refusing store's reply means, in a few words (health's `store_error`): the code
// that starts a Redis error reply, then Upstash's limits, named by their text.
const REFUSALS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^OOM\b/, "out of memory"],
  [/^READONLY\b/, "read-only"],
  [/^NOSCRIPT\b/, "script not loaded"],
  [/^LOADING\b/, "loading"],
  [/^BUSY\b/, "busy"],
  [/^(CLUSTERDOWN|MASTERDOWN|TRYAGAIN|NOREPLICAS)\b/, "cluster unavailable"],
  [/limit exceeded|max (daily )?(request|command)s? limit/i, "request limit"],
];

const WRONG_TYPE = /^WRONGTYPE\b/;

export function refusalOf(reply: string): string {
  for (const [pattern, refusal] of REFUSALS) if (pattern.test(reply)) return refusal;
  return "error reply";
}

/**
 * An error from the store as the caller should see it: the domain's own errors as they are,
 * anything else a StoreUnavailableError that says whether a write may have been applied. A
 * refusal (an error reply: nothing ran) and a command never sent did not apply; a command
 * sent and not answered within the deadline may have.
 */
export function errorMapper(transport: ScriptTransport, timeoutMs: number) {
  return (what: string, write: boolean, error: unknown): unknown => {
    if (
      error instanceof IdempotencyConflictError ||
      error instanceof RateLimitedError ||
      error instanceof CountLimitError
    )
      return error;
    const reply = transport.replyOf(error);
    // A key of another type under our names is a defect in the data, not an outage: it
    // stays itself (a 500, its cause logged).
    if (reply !== undefined && WRONG_TYPE.test(reply)) return error;
    if (reply !== undefined) {
      const refusal = refusalOf(reply);
      const outcome = write ? ": not applied" : "";
      return new StoreUnavailableError(
        `${what}: the store refused it (${refusal}: ${reply.slice(0, 120)})${outcome}`,
        {
          mayHaveApplied: false,
          refusal,
          cause: error,
        },
      );
    }
    const sent = !transport.isNotSent(error);
    const cause = error instanceof Error ? error.message : String(error);
    const message = sent
      ? `${what}: no answer within ${timeoutMs} ms or the connection was lost after sending (${cause})${write ? ": may have been applied" : ""}`
      : `${what}: not sent, the store is unreachable (${cause})${write ? ": not applied" : ""}`;
    return new StoreUnavailableError(message, { mayHaveApplied: write && sent, cause: error });
  };
}

/**
 * Runs a script by its SHA, loading it on first use on a server (NOSCRIPT), with failures
 * mapped. The transport holds the deadline (ioredis commandTimeout, a fetch AbortSignal):
 * one timer per call, not two. One async step per call: this is every request's path.
 */
export function executor(transport: ScriptTransport, mapped: Parts["mapped"]): Exec {
  return async (what, write, script, keyList, args) => {
    try {
      return await transport.evalsha(script.sha1, keyList, args);
    } catch (error) {
      if (!(error instanceof Error && NOSCRIPT.test(error.message))) throw mapped(what, write, error);
    }
    try {
      return await transport.eval(script.source, keyList, args);
    } catch (error) {
      throw mapped(what, write, error);
    }
  };
}

/**
 * The ranking keys and bucket TTLs of a counter type, kept for the current second: they
 * change once an hour, and a TTL late by under a second is nothing against the buckets'
 * margin of minutes.
 */
/** A counter type's ranking keys and bucket TTLs, as arrays and by the names the scripts give them. */
export interface RankingKeys {
  keys: string[];
  ttls: string[];
  named: {
    keys: { rankAll: string; rankHour: string; rankDay: string };
    ttls: { ttlHour: string; ttlDay: string };
  };
}

export function rankingKeysOf(keys: KeyLayout) {
  const cache = new Map<string, RankingKeys & { second: number }>();
  return (type: string, now: number, resourceId: string): RankingKeys => {
    const second = Math.floor(now / 1000);
    // Unsharded, every resource of a type shares the keys: one entry per type.
    const slot = keys.rankingShards === 1 ? type : keys.ranking(type, "", resourceId);
    const cached = cache.get(slot);
    if (cached?.second === second) return cached;
    const { hour, day } = windowBucketsAt(now);
    const start = second * 1000;
    const named = {
      keys: {
        rankAll: keys.ranking(type, "all", resourceId),
        rankHour: keys.ranking(type, hour.id, resourceId),
        rankDay: keys.ranking(type, day.id, resourceId),
      },
      ttls: {
        ttlHour: String(hour.expiresAt - start),
        ttlDay: String(day.expiresAt - start),
      },
    };
    const entry = { second, keys: Object.values(named.keys), ttls: Object.values(named.ttls), named };
    cache.set(slot, entry);
    return entry;
  };
}

export function limitArgs(
  keys: KeyLayout,
  limits: readonly RateLimit[],
  now: number,
): { keys: string[]; args: string[] } {
  const out = { keys: [] as string[], args: [] as string[] };
  for (const l of limits) {
    const { index, ttlMs } = rateWindow(l, now);
    const window = WINDOW.encode(
      { window: keys.rateWindow(l.subject, index) },
      { limit: String(l.limit), ttl: String(ttlMs), weight: String(l.weight ?? 1) },
    );
    out.keys.push(...window.keys);
    out.args.push(...window.args);
  }
  return out;
}

/** A rate-limit reply ({0, 0, 3, pttl, limit, which}) as the error it means. */
export function refusal(reply: unknown[], limits: readonly RateLimit[]): RateLimitedError {
  const which = limits[num(reply[5]) - 1] ?? limits[0];
  return new RateLimitedError(which as RateLimit, Math.max(num(reply[3]), 1));
}

/**
 * One increment's keys and arguments, as APPLY_FN reads them (rankings and index not on
 * Cluster). `recordTtl` "0": its record is checked, never written (a batch item).
 */
export function itemOf(p: Parts, command: IncrementCommand, recordTtl = p.idempotencyTtl) {
  const { keys, options } = p;
  const { cluster } = options;
  const { resourceId, type, kind, userId, delta, idempotencyKey, now } = command;
  const unique = kind === "unique";
  const counter = keys.counter(resourceId, type, unique);
  const ranking = p.rankingKeys(type, now, resourceId);
  const indexed = unique && !cluster;
  // Keys a kind does not use stand on the counter's own (same slot, never read).
  return ITEM.encode(
    {
      counter,
      users: unique ? counter : keys.users(resourceId, type),
      record: idempotencyKey === undefined ? counter : keys.idempotency(resourceId, idempotencyKey),
      userIndex: indexed ? keys.userIndex(userId) : counter,
      history: keys.history(resourceId, type),
      ...ranking.named.keys,
    },
    {
      kind: unique ? "u" : "t",
      user: userId,
      delta: String(delta),
      fingerprint: idempotencyKey === undefined ? "" : requestFingerprint(command),
      recordTtl,
      resource: resourceId,
      ...ranking.named.ttls,
      rankCap: p.rankingCap,
      maxCount: MAX_COUNT,
      indexEntry: indexed ? `${type}:${resourceId}` : "",
      ...p.historyArgs(now),
    },
    // On a cluster the rankings are in another slot: the item's keys stop before them.
    cluster ? "rankAll" : undefined,
  );
}

/** An increment's reply {count, applied, status} as its outcome, or the error its status means. */
export function outcomeOf(reply: unknown[], limits: readonly RateLimit[], index?: number): IncrementOutcome {
  const status = num(reply[2]);
  if (status === STATUS.KEY_REUSED) throw new IdempotencyConflictError(index);
  if (status === STATUS.RATE_LIMITED) throw refusal(reply, limits);
  if (status === STATUS.COUNT_LIMIT) throw new CountLimitError(MAX_EXACT_COUNT, index);
  return { count: num(reply[0]), applied: num(reply[1]) === 1, replayed: status === STATUS.REPLAYED };
}

/** The parts of a store over `transport`: what every script family is handed. */
export function partsOf(transport: ScriptTransport, options: ScriptStoreOptions, shards: number): Parts {
  const mapped = errorMapper(transport, options.timeoutMs);
  const keys = new KeyLayout(options.keyPrefix, shards);
  return {
    transport,
    options,
    keys,
    scripts: scriptsFor(options.dialect),
    exec: executor(transport, mapped),
    mapped,
    rankingKeys: rankingKeysOf(keys),
    idempotencyTtl: String(options.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS),
    // Each shard keeps its share of the cap; a type's top 100 stays exact while a shard keeps 100 or more.
    rankingCap: String(Math.ceil((options.rankingMaxMembers ?? DEFAULT_RANKING_MAX_MEMBERS) / shards)),
    historyArgs: historyArgsOf(options.historyDays ?? DEFAULT_HISTORY_DAYS),
  };
}
