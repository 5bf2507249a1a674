// The CounterStore over Lua scripts, shared by the Redis and Upstash adapters: keys,
// scripts, decoding, deadlines and error mapping live here; a ScriptTransport only carries
// EVALSHA/EVAL to the server.

import { bucketOf, windowBucketsAt } from "../domain/buckets.ts";
import {
  CountLimitError,
  IdempotencyConflictError,
  RateLimitedError,
  StoreUnavailableError,
} from "../domain/errors.ts";
import {
  type CounterQuery,
  type CounterReading,
  type CounterStore,
  compareRanked,
  DEFAULT_RANKING_MAX_MEMBERS,
  DEFAULT_RANKING_SHARDS,
  IDEMPOTENCY_TTL_MS,
  type IncrementCommand,
  type IncrementOutcome,
  MAX_EXACT_COUNT,
  type RankedItem,
  type RankingQuery,
  type RateLimit,
  rateWindow,
  type StoreName,
} from "../domain/model.ts";
import { followUp, groupBy } from "./cluster-calls.ts";
import { eventsFingerprint, requestFingerprint } from "./fingerprint.ts";
import { scriptAdmin } from "./script-admin.ts";
import { batchIncrementer } from "./script-batch.ts";
import { eventApplier, storeEventQueue } from "./script-events.ts";
import { KeyLayout, type LuaScript, type ScriptDialect, STATUS, scriptsFor } from "./scripts.ts";

/** Carries scripts to the server. Every call settles (answers or fails) within the deadline. */
export interface ScriptTransport {
  evalsha(sha1: string, keys: string[], args: string[]): Promise<unknown>;
  eval(source: string, keys: string[], args: string[]): Promise<unknown>;
  /** A plain PFCOUNT: a read Redis serves also when it refuses writes (scripts with it are writers). */
  pfcount(key: string): Promise<unknown>;
  /** Pages of keys matching a pattern, by SCAN (on a cluster, every master's), for export. */
  scan(match: string): AsyncIterable<string[]>;
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
function errorMapper(transport: ScriptTransport, timeoutMs: number) {
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
function executor(transport: ScriptTransport, mapped: Parts["mapped"]): Exec {
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
function rankingKeysOf(keys: KeyLayout) {
  const cache = new Map<string, { second: number; keys: string[]; ttls: string[] }>();
  return (type: string, now: number, resourceId: string): { keys: string[]; ttls: string[] } => {
    const second = Math.floor(now / 1000);
    // Unsharded, every resource of a type shares the keys: one entry per type.
    const slot = keys.rankingShards === 1 ? type : keys.ranking(type, "", resourceId);
    const cached = cache.get(slot);
    if (cached?.second === second) return cached;
    const { hour, day, week } = windowBucketsAt(now);
    const start = second * 1000;
    const entry = {
      second,
      keys: [
        keys.ranking(type, "all", resourceId),
        keys.ranking(type, hour.id, resourceId),
        keys.ranking(type, day.id, resourceId),
        keys.ranking(type, week.id, resourceId),
      ],
      ttls: [String(hour.expiresAt - start), String(day.expiresAt - start), String(week.expiresAt - start)],
    };
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
    out.keys.push(keys.rateWindow(l.subject, index));
    out.args.push(String(l.limit), String(ttlMs), String(l.weight ?? 1));
  }
  return out;
}

/** A rate-limit reply ({0, 0, 3, pttl, limit, which}) as the error it means. */
function refusal(reply: unknown[], limits: readonly RateLimit[]): RateLimitedError {
  const which = limits[num(reply[5]) - 1] ?? limits[0];
  return new RateLimitedError(which as RateLimit, Math.max(num(reply[3]), 1));
}

/**
 * Rate limits on their own. A store that refuses writes (out of memory, read-only) cannot
 * count them: the request is let through, told aside, so that reads keep working; a write
 * behind it is refused by the store anyway.
 */
function limiter(p: Parts) {
  const countOne = async (group: readonly RateLimit[], now: number) => {
    const { keys: keyList, args } = limitArgs(p.keys, group, now);
    try {
      return {
        group,
        reply: (await p.exec("rate limit", false, p.scripts.limit, keyList, args)) as unknown[],
      };
    } catch (error) {
      if (!(error instanceof StoreUnavailableError && error.refusal !== undefined)) throw error;
      p.options.onBackgroundError?.(error);
      return { group, reply: [1] };
    }
  };
  return async (limits: readonly RateLimit[], now: number): Promise<void> => {
    if (limits.length === 0) return;
    // Cluster: each subject's window is in its own slot, so one call per subject, together.
    const groups = p.options.cluster ? limits.map((l) => [l]) : [limits];
    const replies = await Promise.all(groups.map((group) => countOne(group, now)));
    const refused = replies.find((r) => num(r.reply[2]) === STATUS.RATE_LIMITED);
    if (refused) throw refusal(refused.reply, refused.group);
  };
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
  const counterKey = keys.counter(resourceId, type, unique);
  const ranking = p.rankingKeys(type, now, resourceId);
  const indexed = unique && !cluster;
  const itemKeys = [
    counterKey,
    unique ? counterKey : keys.users(resourceId, type),
    idempotencyKey === undefined ? counterKey : keys.idempotency(resourceId, idempotencyKey),
    indexed ? keys.userIndex(userId) : counterKey,
    ...(cluster ? [] : ranking.keys),
  ];
  const args = [
    unique ? "u" : "t",
    userId,
    String(delta),
    idempotencyKey === undefined ? "" : requestFingerprint(command),
    recordTtl,
    resourceId,
    ...ranking.ttls,
    p.rankingCap,
    MAX_COUNT,
    indexed ? `${type}:${resourceId}` : "",
  ];
  return { keys: itemKeys, args };
}

/** An increment's reply {count, applied, status} as its outcome, or the error its status means. */
export function outcomeOf(reply: unknown[], limits: readonly RateLimit[], index?: number): IncrementOutcome {
  const status = num(reply[2]);
  if (status === STATUS.KEY_REUSED) throw new IdempotencyConflictError(index);
  if (status === STATUS.RATE_LIMITED) throw refusal(reply, limits);
  if (status === STATUS.COUNT_LIMIT) throw new CountLimitError(MAX_EXACT_COUNT, index);
  return { count: num(reply[0]), applied: num(reply[1]) === 1, replayed: status === STATUS.REPLAYED };
}

function incrementer(p: Parts, limit: CounterStore["limit"]) {
  const { keys, options } = p;
  const { cluster } = options;
  return async (command: IncrementCommand): Promise<IncrementOutcome> => {
    const limits = command.limits ?? [];
    // On a cluster the windows are in other slots than the resource: check them first.
    if (cluster) await limit(limits, command.now);
    const item = itemOf(p, command);
    if (!cluster && limits.length > 0) {
      const windows = limitArgs(keys, limits, command.now);
      item.keys.push(...windows.keys);
      item.args.push(...windows.args);
    }
    const reply = (await p.exec("increment", true, p.scripts.increment, item.keys, item.args)) as unknown[];
    const outcome = outcomeOf(reply, limits);
    if (cluster && outcome.applied && !outcome.replayed) {
      const { resourceId, type, userId, delta } = command;
      const joined = command.kind === "unique" ? [{ userId, type, resourceId, joined: delta > 0 }] : [];
      await followUp(p, [{ type, resourceId, delta, count: outcome.count }], joined, command.now);
    }
    return outcome;
  };
}

/** A query's mode in the read script; 'T' (with unique users) only where the script may write. */
function modeOf(q: CounterQuery, withUsers: boolean): string {
  if (q.kind === "unique") return q.detail ? "U" : "u";
  return q.detail && withUsers ? "T" : "t";
}

function readArgs(
  keys: KeyLayout,
  queries: readonly CounterQuery[],
  withUsers: boolean,
): { keys: string[]; args: string[] } {
  const keyList: string[] = [];
  const args: string[] = [];
  for (const q of queries) {
    const unique = q.kind === "unique";
    const counterKey = keys.counter(q.resourceId, q.type, unique);
    keyList.push(counterKey, unique ? counterKey : keys.users(q.resourceId, q.type));
    args.push(modeOf(q, withUsers), q.userId ?? "");
  }
  return { keys: keyList, args };
}

function decodeReadings(queries: readonly CounterQuery[], reply: unknown[]): CounterReading[] {
  return queries.map((q, i) => {
    const reading: CounterReading = { count: num(reply[2 * i]) };
    const extra = num(reply[2 * i + 1]);
    if (q.detail && q.kind === "total") reading.uniqueUsers = extra;
    if (q.detail && q.kind === "unique" && q.userId !== undefined) reading.member = extra === 1;
    return reading;
  });
}

const wantsUsers = (q: CounterQuery) => q.detail === true && q.kind === "total";

/**
 * Counters of one slot in one call. A read is a no-writes script, served by a store that
 * refuses writes, unless it asks for unique users (PFCOUNT makes it a writer): refused
 * (out of memory, read-only), that one is read again without them, and each PFCOUNT sent
 * on its own beside it, which Redis serves in that state.
 */
function slotReader(p: Parts) {
  const run = async (part: readonly CounterQuery[], withUsers: boolean) => {
    const { keys: keyList, args } = readArgs(p.keys, part, withUsers);
    const script = withUsers ? p.scripts.readWithUsers : p.scripts.read;
    return (await p.exec("read", false, script, keyList, args)) as unknown[];
  };
  const withoutScriptWrites = async (part: readonly CounterQuery[]): Promise<CounterReading[]> => {
    // exec maps the script's failures; a plain PFCOUNT's are mapped here.
    const pfcount = (q: CounterQuery) =>
      p.transport.pfcount(p.keys.users(q.resourceId, q.type)).catch((error: unknown) => {
        throw p.mapped("read", false, error);
      });
    const [readings, counted] = await Promise.all([
      run(part, false).then((reply) => decodeReadings(part, reply)),
      Promise.all(part.map((q) => (wantsUsers(q) ? pfcount(q) : undefined))),
    ]);
    return readings.map((r, i) => (counted[i] === undefined ? r : { ...r, uniqueUsers: num(counted[i]) }));
  };
  return async (part: readonly CounterQuery[]): Promise<CounterReading[]> => {
    if (!part.some(wantsUsers)) return decodeReadings(part, await run(part, false));
    try {
      return decodeReadings(part, await run(part, true));
    } catch (error) {
      if (!(error instanceof StoreUnavailableError && error.refusal !== undefined)) throw error;
      return await withoutScriptWrites(part);
    }
  };
}

function reader(p: Parts) {
  const readPart = slotReader(p);
  return async (queries: readonly CounterQuery[]): Promise<CounterReading[]> => {
    if (queries.length === 0) return [];
    if (!p.options.cluster) return readPart(queries);
    // Cluster: one script per resource (one slot each), sent together; the client pipelines
    // them to each shard at once.
    const groups = groupBy(queries, (q) => q.resourceId);
    const readings: CounterReading[] = new Array(queries.length);
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        const decoded = await readPart(indexes.map((i) => queries[i] as CounterQuery));
        indexes.forEach((queryIndex, j) => {
          readings[queryIndex] = decoded[j] as CounterReading;
        });
      }),
    );
    return readings;
  };
}

/** A flat [member, score, ...] reply as ranked items. */
function pairs(flat: unknown[] | undefined): RankedItem[] {
  const items: RankedItem[] = [];
  for (let i = 0; flat && i + 1 < flat.length; i += 2)
    items.push({ resourceId: String(flat[i]), count: num(flat[i + 1]) });
  return items;
}

/**
 * The top of a ranking: each shard's top `limit` (with its ties at the lowest score), one
 * call per shard in parallel, merged. Exact, because a resource lives in one shard only.
 */
function ranker(p: Parts) {
  return async (query: RankingQuery): Promise<RankedItem[]> => {
    const bucket = query.period === "all" ? "all" : bucketOf(query.period, query.now).id;
    const shardKeys = p.keys.rankingShardKeys(query.type, bucket);
    const replies = await Promise.all(
      shardKeys.map(
        async (key) =>
          (await p.exec("ranking", false, p.scripts.ranking, [key], [String(query.limit)])) as unknown[][],
      ),
    );
    if (replies.length === 1) {
      const [reply] = replies as [unknown[][]];
      return [...pairs(reply[0]).sort(compareRanked), ...pairs(reply[1])].slice(0, query.limit);
    }
    return replies
      .flatMap((r) => [...pairs(r[0]), ...pairs(r[1])])
      .sort(compareRanked)
      .slice(0, query.limit);
  };
}

export function createScriptStore(transport: ScriptTransport, options: ScriptStoreOptions): CounterStore {
  const mapped = errorMapper(transport, options.timeoutMs);
  // Sharded on a cluster only: one shard keeps an increment one script elsewhere.
  const shards = options.cluster ? (options.rankingShards ?? DEFAULT_RANKING_SHARDS) : 1;
  const keys = new KeyLayout(options.keyPrefix, shards);
  const parts: Parts = {
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
  };
  const limit = limiter(parts);
  const admin = scriptAdmin({
    keys: parts.keys,
    cluster: options.cluster,
    rankingCap: parts.rankingCap,
    dialect: options.dialect,
    scripts: parts.scripts,
    exec: parts.exec,
    rankingKeys: parts.rankingKeys,
    scan: (match) => transport.scan(match),
  });
  return {
    ...admin,
    name: options.name,
    increment: incrementer(parts, limit),
    incrementMany: batchIncrementer(parts, limit),
    applyEvents: eventApplier(parts),
    eventQueue: storeEventQueue(parts),
    read: reader(parts),
    ranking: ranker(parts),
    limit,
    claimEventsKey: async (key, events) => {
      const args = [eventsFingerprint(events), parts.idempotencyTtl];
      const reply = (await parts.exec(
        "claim key",
        true,
        parts.scripts.claim,
        [keys.eventsRecord(key)],
        args,
      )) as unknown[];
      if (num(reply[0]) === STATUS.KEY_REUSED) throw new IdempotencyConflictError();
    },
    ping: async () => {
      await parts.exec("health probe", false, parts.scripts.probe, [], []);
    },
    dataFormat: {
      read: async () => {
        const found = await parts.exec(
          "data format",
          false,
          parts.scripts.formatRead,
          [keys.dataFormat()],
          [],
        );
        return typeof found === "string" || typeof found === "number" ? Number(found) : undefined;
      },
      record: async (format: number) =>
        Number(
          await parts.exec(
            "data format",
            true,
            parts.scripts.formatRecord,
            [keys.dataFormat()],
            [String(format)],
          ),
        ),
    },
    close: () => transport.close(),
  };
}
