// The CounterStore over Lua scripts, shared by the Redis and Upstash adapters: single
// increments, reads, rankings and rate limits here, composed with the other script families
// (batches, queued events, admin) over the kernel (script-kernel.ts: transport, parts,
// deadlines, error mapping, encoding). A ScriptTransport only carries EVALSHA/EVAL.

import { bucketOf, daysOfWeek } from "../domain/buckets.ts";
import { IdempotencyConflictError, StoreUnavailableError } from "../domain/errors.ts";
import { type CounterHistory, daysEnding, type HistoryQuery, historyOf } from "../domain/history.ts";
import {
  type CounterAdmin,
  type CounterQuery,
  type CounterReading,
  type CounterStore,
  compareRanked,
  DEFAULT_RANKING_SHARDS,
  type IncrementCommand,
  type IncrementOutcome,
  type LocalEventQueue,
  type RankedItem,
  type RankingQuery,
  type RateLimit,
} from "../domain/model.ts";
import { followUp, groupBy } from "./cluster-calls.ts";
import { eventsFingerprint } from "./fingerprint.ts";
import type { KeyLayout } from "./key-layout.ts";
import { CLAIM } from "./lua/events.ts";
import { RANKING, WEEK } from "./lua/ranking.ts";
import { HISTORY, QUERY } from "./lua/reads.ts";
import { FORMAT } from "./lua/service.ts";
import { batchIncrementer } from "./script-batch.ts";
import { createScriptChanges } from "./script-changes.ts";
import { eventApplier, storeEventQueue } from "./script-events.ts";
import {
  itemOf,
  limitArgs,
  NO_CHANGES,
  num,
  outcomeOf,
  type Parts,
  type PubSubOpener,
  partsOf,
  refusal,
  type ScriptStoreOptions,
  type ScriptTransport,
} from "./script-kernel.ts";
import { STATUS } from "./scripts.ts";

export type { PubSubOpener, ScriptStoreOptions, ScriptTransport };

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
    const counter = keys.counter(q.resourceId, q.type, unique);
    const query = QUERY.encode(
      { counter, users: unique ? counter : keys.users(q.resourceId, q.type) },
      { mode: modeOf(q, withUsers), user: q.userId ?? "" },
    );
    keyList.push(...query.keys);
    args.push(...query.args);
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
/** The keys and arguments of recording the data format. */
function formatCall(key: string, format: number): [string[], string[]] {
  const call = FORMAT.encode({ format: key }, { value: String(format) });
  return [call.keys, call.args];
}

/** The keys and arguments of one ranking key's read. */
function rankingCall(ranking: string, limit: number): [string[], string[]] {
  const call = RANKING.encode({ ranking }, { limit: String(limit) });
  return [call.keys, call.args];
}

/** How long a week's sum of days is kept, and so how far behind a week's ranking may be. */
export const WEEK_SUM_TTL_MS = 60_000;

/** One shard's week, the sum of its days (kept a minute); from a store that refuses writes, the days' union read. */
function weekCall(p: Parts, query: RankingQuery, shard: number) {
  const sumBucket = `wsum:${bucketOf("week", query.now).id}:${Math.floor(query.now / WEEK_SUM_TTL_MS)}`;
  const sum = p.keys.rankingShardKeys(query.type, sumBucket)[shard] as string;
  const call = WEEK.encode({ sum }, { limit: String(query.limit), ttl: String(WEEK_SUM_TTL_MS) });
  for (const day of daysOfWeek(query.now))
    call.keys.push(p.keys.rankingShardKeys(query.type, day)[shard] as string);
  return async (): Promise<unknown[][]> => {
    try {
      return (await p.exec("ranking", true, p.scripts.week, call.keys, call.args)) as unknown[][];
    } catch (error) {
      if (!(error instanceof StoreUnavailableError && error.refusal !== undefined)) throw error;
      return (await p.exec("ranking", false, p.scripts.weekRead, call.keys, call.args)) as unknown[][];
    }
  };
}

function ranker(p: Parts) {
  const shardCalls = (query: RankingQuery) => {
    if (query.period === "week")
      return p.keys.rankingShardKeys(query.type, "").map((_, s) => weekCall(p, query, s));
    const bucket = query.period === "all" ? "all" : bucketOf(query.period, query.now).id;
    return p.keys
      .rankingShardKeys(query.type, bucket)
      .map(
        (key) => async () =>
          (await p.exec(
            "ranking",
            false,
            p.scripts.ranking,
            ...rankingCall(key, query.limit),
          )) as unknown[][],
      );
  };
  return async (query: RankingQuery): Promise<RankedItem[]> => {
    const replies = await Promise.all(shardCalls(query).map((call) => call()));
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

/** A counter's count and its days: one no-writes script in the counter's slot. */
function historian(p: Parts) {
  return async (query: HistoryQuery): Promise<CounterHistory> => {
    const unique = query.kind === "unique";
    const days = daysEnding(query.now, query.days);
    const call = HISTORY.encode(
      {
        counter: p.keys.counter(query.resourceId, query.type, unique),
        history: p.keys.history(query.resourceId, query.type),
      },
      { kind: unique ? "u" : "t" },
    );
    call.args.push(...days.map(String));
    const [count, deltas] = (await p.exec("history", false, p.scripts.history, call.keys, call.args)) as [
      unknown,
      unknown[],
    ];
    const byDay = new Map(days.map((day, i) => [day, deltas[i] ? num(deltas[i]) : 0]));
    return historyOf(query, num(count), (day) => byDay.get(day) ?? 0);
  };
}

/** The local event queue in the database a script store uses (its key prefix, its transport). */
export const createScriptEventQueue = (
  transport: ScriptTransport,
  options: ScriptStoreOptions,
): LocalEventQueue => storeEventQueue(partsOf(transport, options, 1));

/** The operator's commands, made on first use. */
function lazyAdmin(load: () => Promise<CounterAdmin>): CounterAdmin {
  let loaded: Promise<CounterAdmin> | undefined;
  const admin = () => {
    loaded ??= load();
    return loaded;
  };
  return {
    setCount: async (...args) => (await admin()).setCount(...args),
    reset: async (...args) => (await admin()).reset(...args),
    eraseUser: async (...args) => (await admin()).eraseUser(...args),
    importCounters: async (...args) => (await admin()).importCounters(...args),
    exportCounters: async function* (options) {
      yield* (await admin()).exportCounters(options);
    },
  };
}

/**
 * The operator's commands over the parts. Their scripts are in a Lambda bundle only where a
 * route needs them: HP_BUNDLED_ADMIN, a build-time constant (infra/bundling.ts), is "0" in
 * every function but AdminFunction's, and esbuild then drops the branch and its import.
 */
async function loadAdmin(parts: Parts): Promise<CounterAdmin> {
  if (process.env.HP_BUNDLED_ADMIN !== "0") {
    const { scriptAdmin } = await import("./script-admin.ts");
    return scriptAdmin({
      keys: parts.keys,
      cluster: parts.options.cluster,
      rankingCap: parts.rankingCap,
      dialect: parts.options.dialect,
      scripts: parts.scripts,
      exec: parts.exec,
      rankingKeys: parts.rankingKeys,
      historyArgs: parts.historyArgs,
      scan: (match) => parts.transport.scan(match),
    });
  }
  throw new Error("this function's bundle carries no operator commands: they are AdminFunction's");
}

export function createScriptStore(transport: ScriptTransport, options: ScriptStoreOptions): CounterStore {
  // Sharded on a cluster only: one shard keeps an increment one script elsewhere.
  const shards = options.cluster ? (options.rankingShards ?? DEFAULT_RANKING_SHARDS) : 1;
  const parts = partsOf(transport, options, shards);
  const { keys } = parts;
  const limit = limiter(parts);
  const admin = lazyAdmin(() => loadAdmin(parts));
  const changes =
    process.env.HP_BUNDLED_CHANGES === "0"
      ? NO_CHANGES
      : createScriptChanges(transport.pubsub, keys, options.timeoutMs);
  return {
    ...admin,
    name: options.name,
    increment: incrementer(parts, limit),
    incrementMany: batchIncrementer(parts, limit),
    applyEvents: eventApplier(parts),
    read: reader(parts),
    history: historian(parts),
    ranking: ranker(parts),
    limit,
    claimEventsKey: async (key, events) => {
      const claim = CLAIM.encode(
        { record: keys.eventsRecord(key) },
        { fingerprint: eventsFingerprint(events), ttl: parts.idempotencyTtl },
      );
      const reply = (await parts.exec(
        "claim key",
        true,
        parts.scripts.claim,
        claim.keys,
        claim.args,
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
          FORMAT.encode({ format: keys.dataFormat() }, { value: "" }).keys,
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
            ...formatCall(keys.dataFormat(), format),
          ),
        ),
    },
    changes,
    close: async () => {
      await changes.close();
      await transport.close();
    },
  };
}
