// The CounterStore over Lua scripts, shared by the Redis and Upstash adapters: keys,
// scripts, decoding, deadlines and error mapping live here; a ScriptTransport only carries
// EVALSHA/EVAL to the server.

import { bucketOf, windowBucketsAt } from "../domain/buckets.ts";
import { IdempotencyConflictError, RateLimitedError, StoreUnavailableError } from "../domain/errors.ts";
import {
  type CounterQuery,
  type CounterReading,
  type CounterStore,
  compareRanked,
  IDEMPOTENCY_TTL_MS,
  type IncrementCommand,
  type IncrementOutcome,
  type RankedItem,
  type RankingQuery,
  type RateLimit,
  rateWindow,
  requestFingerprint,
  type StoreName,
} from "../domain/model.ts";
import { KeyLayout, type LuaScript, type ScriptDialect, scriptsFor } from "./scripts.ts";

/** Carries scripts to the server. Every call settles (answers or fails) within the deadline. */
export interface ScriptTransport {
  evalsha(sha1: string, keys: string[], args: string[]): Promise<unknown>;
  eval(source: string, keys: string[], args: string[]): Promise<unknown>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** True when the error is Redis answering a command with an error (a bug, not an outage). */
  isCommandError(error: unknown): boolean;
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
  /** Told about a failure that does not fail the request (a cluster ranking update). */
  onBackgroundError?: (error: unknown) => void;
}

const num = (v: unknown): number => Number(v);
const NOSCRIPT = /NOSCRIPT/i;

type Exec = (
  what: string,
  write: boolean,
  script: LuaScript,
  keyList: string[],
  args: string[],
) => Promise<unknown>;

/** What the store's parts share: the transport, the key layout, the scripts, and exec. */
interface Parts {
  transport: ScriptTransport;
  options: ScriptStoreOptions;
  keys: KeyLayout;
  scripts: ReturnType<typeof scriptsFor>;
  exec: Exec;
  mapped: (what: string, write: boolean, error: unknown) => unknown;
}

/** An error from the store as the caller should see it: outages become StoreUnavailableError. */
function errorMapper(transport: ScriptTransport, timeoutMs: number) {
  return (what: string, write: boolean, error: unknown): unknown => {
    if (error instanceof IdempotencyConflictError || error instanceof RateLimitedError) return error;
    if (transport.isCommandError(error)) return error;
    return new StoreUnavailableError(`${what}: no answer within ${timeoutMs} ms or store unreachable`, {
      mayHaveApplied: write && !transport.isNotSent(error),
      cause: error,
    });
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
  return (type: string, now: number): { keys: string[]; ttls: string[] } => {
    const second = Math.floor(now / 1000);
    const cached = cache.get(type);
    if (cached?.second === second) return cached;
    const { hour, day, week } = windowBucketsAt(now);
    const start = second * 1000;
    const entry = {
      second,
      keys: [
        keys.ranking(type, "all"),
        keys.ranking(type, hour.id),
        keys.ranking(type, day.id),
        keys.ranking(type, week.id),
      ],
      ttls: [String(hour.expiresAt - start), String(day.expiresAt - start), String(week.expiresAt - start)],
    };
    cache.set(type, entry);
    return entry;
  };
}

function limitArgs(
  keys: KeyLayout,
  limits: readonly RateLimit[],
  now: number,
): { keys: string[]; args: string[] } {
  const out = { keys: [] as string[], args: [] as string[] };
  for (const l of limits) {
    const { index, ttlMs } = rateWindow(l, now);
    out.keys.push(keys.rateWindow(l.subject, index));
    out.args.push(String(l.limit), String(ttlMs));
  }
  return out;
}

/** A rate-limit reply ({0, 0, 3, pttl, limit, which}) as the error it means. */
function refusal(reply: unknown[], limits: readonly RateLimit[]): RateLimitedError {
  const which = limits[num(reply[5]) - 1] ?? limits[0];
  return new RateLimitedError(which as RateLimit, Math.max(num(reply[3]), 1));
}

function limiter(p: Parts) {
  return async (limits: readonly RateLimit[], now: number): Promise<void> => {
    if (limits.length === 0) return;
    // Cluster: each subject's window is in its own slot, so one call per subject, together.
    const groups = p.options.cluster ? limits.map((l) => [l]) : [limits];
    const replies = await Promise.all(
      groups.map(async (group) => {
        const { keys: keyList, args } = limitArgs(p.keys, group, now);
        return {
          group,
          reply: (await p.exec("rate limit", false, p.scripts.limit, keyList, args)) as unknown[],
        };
      }),
    );
    const refused = replies.find((r) => num(r.reply[2]) === 3);
    if (refused) throw refusal(refused.reply, refused.group);
  };
}

function incrementer(p: Parts, limit: CounterStore["limit"]) {
  const { keys, options } = p;
  const { cluster } = options;
  const idempotencyTtl = String(options.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS);
  const rankingKeys = rankingKeysOf(keys);
  return async (command: IncrementCommand): Promise<IncrementOutcome> => {
    const { resourceId, type, kind, userId, delta, idempotencyKey, now } = command;
    const limits = command.limits ?? [];
    // On a cluster the windows are in other slots than the resource: check them first.
    if (cluster) await limit(limits, now);
    const unique = kind === "unique";
    const counterKey = keys.counter(resourceId, type, unique);
    const ranking = rankingKeys(type, now);
    const scriptKeys = [
      counterKey,
      unique ? counterKey : keys.users(resourceId, type),
      idempotencyKey === undefined ? counterKey : keys.idempotency(resourceId, idempotencyKey),
    ];
    const args = [
      unique ? "u" : "t",
      userId,
      String(delta),
      idempotencyKey === undefined ? "" : requestFingerprint(command),
      idempotencyTtl,
      resourceId,
      ...ranking.ttls,
    ];
    if (!cluster) {
      scriptKeys.push(...ranking.keys);
      if (limits.length > 0) {
        const windows = limitArgs(keys, limits, now);
        scriptKeys.push(...windows.keys);
        args.push(...windows.args);
      }
    }
    const reply = (await p.exec("increment", true, p.scripts.increment, scriptKeys, args)) as unknown[];
    const outcome: IncrementOutcome = {
      count: num(reply[0]),
      applied: num(reply[1]) === 1,
      replayed: num(reply[2]) === 1,
    };
    if (num(reply[2]) === 2) throw new IdempotencyConflictError();
    if (num(reply[2]) === 3) throw refusal(reply, limits);
    if (cluster && outcome.applied && !outcome.replayed) {
      // The ranking lives in its own slot: a second call. The increment is already applied,
      // so a failure here is reported aside rather than failing (and inviting a retry of) it.
      await p
        .exec("ranking update", true, p.scripts.rank, ranking.keys, [
          resourceId,
          String(delta),
          ...ranking.ttls,
        ])
        .catch((error: unknown) => options.onBackgroundError?.(error));
    }
    return outcome;
  };
}

function readArgs(keys: KeyLayout, queries: readonly CounterQuery[]): { keys: string[]; args: string[] } {
  const keyList: string[] = [];
  const args: string[] = [];
  for (const q of queries) {
    const unique = q.kind === "unique";
    const counterKey = keys.counter(q.resourceId, q.type, unique);
    keyList.push(counterKey, unique ? counterKey : keys.users(q.resourceId, q.type));
    const mode = unique ? (q.detail ? "U" : "u") : q.detail ? "T" : "t";
    args.push(mode, q.userId ?? "");
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

function reader(p: Parts) {
  const readPart = async (part: readonly CounterQuery[]) => {
    const { keys: keyList, args } = readArgs(p.keys, part);
    return decodeReadings(part, (await p.exec("read", false, p.scripts.read, keyList, args)) as unknown[]);
  };
  return async (queries: readonly CounterQuery[]): Promise<CounterReading[]> => {
    if (queries.length === 0) return [];
    if (!p.options.cluster) return readPart(queries);
    // Cluster: one script per resource (one slot each), sent together; the client pipelines
    // them to each shard at once.
    const groups = new Map<string, number[]>();
    queries.forEach((q, i) => {
      const group = groups.get(q.resourceId);
      if (group) group.push(i);
      else groups.set(q.resourceId, [i]);
    });
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

function ranker(p: Parts) {
  return async (query: RankingQuery): Promise<RankedItem[]> => {
    const bucket = query.period === "all" ? "all" : bucketOf(query.period, query.now).id;
    const key = p.keys.ranking(query.type, bucket);
    const reply = (await p.exec(
      "ranking",
      false,
      p.scripts.ranking,
      [key],
      [String(query.limit)],
    )) as unknown[][];
    return [...pairs(reply[0]).sort(compareRanked), ...pairs(reply[1])].slice(0, query.limit);
  };
}

export function createScriptStore(transport: ScriptTransport, options: ScriptStoreOptions): CounterStore {
  const mapped = errorMapper(transport, options.timeoutMs);
  const parts: Parts = {
    transport,
    options,
    keys: new KeyLayout(options.keyPrefix),
    scripts: scriptsFor(options.dialect),
    exec: executor(transport, mapped),
    mapped,
  };
  const limit = limiter(parts);
  return {
    name: options.name,
    increment: incrementer(parts, limit),
    read: reader(parts),
    ranking: ranker(parts),
    limit,
    ping: () =>
      transport.ping().catch((error: unknown) => {
        throw mapped("ping", false, error);
      }),
    close: () => transport.close(),
  };
}
