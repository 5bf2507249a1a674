// The operator's commands over the Lua scripts (admin routes, export, import), for the Redis
// and Upstash stores: one script per command on a single shard; on Redis Cluster one call
// per slot touched (the counter's, the ranking's, a user's index).

import { liveBucketIds } from "../domain/buckets.ts";
import type { CounterAdmin, CounterKey, CounterRecord } from "../domain/model.ts";
import { followUpOrFail } from "./cluster-calls.ts";
import type { KeyLayout } from "./key-layout.ts";
import {
  type AdminScripts,
  adminScriptsFor,
  DUMP,
  DUMP_ITEM,
  ERASE,
  ERASE_ENTRY,
  ERASE_ONE,
  IMPORT,
  IMPORT_DAY,
  IMPORT_HISTORY,
  INDEX_PAGE,
  RESET,
  SCORE,
  SET,
} from "./lua/admin.ts";
import { type HistoryArgs, num, type RankingKeys } from "./script-kernel.ts";
import type { LuaScript, ScriptSet } from "./scripts.ts";

/** What the admin commands need of the script store. */
export interface AdminParts {
  keys: KeyLayout;
  cluster: boolean;
  rankingCap: string;
  dialect: "redis" | "upstash";
  /** The increment's own scripts: a cluster's erase and import reuse its ranking and index ones. */
  scripts: ScriptSet;
  exec(what: string, write: boolean, script: LuaScript, keys: string[], args: string[]): Promise<unknown>;
  /** The ranking keys of a type at an instant (all, hour, day) and the buckets' TTLs. */
  rankingKeys(type: string, now: number, resourceId: string): RankingKeys;
  /** The history arguments of a write at an instant. */
  historyArgs(now: number): HistoryArgs;
  /** Pages of keys matching a pattern, by SCAN (every master on a cluster). */
  scan(match: string): AsyncIterable<string[]>;
}

const ERASE_PAGE = 200;
const IMPORT_CHUNK = 500;

/** Runs `work` over items, at most `limit` at a time. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}

function setter(p: AdminParts, s: AdminScripts) {
  return async (counter: CounterKey, count: number, now: number): Promise<void> => {
    const { resourceId, type } = counter;
    const rankAll = p.keys.ranking(type, "all", resourceId);
    const scored = { count: String(count), resource: resourceId, rankCap: p.rankingCap };
    const set = SET.encode(
      {
        counter: p.keys.counter(resourceId, type, false),
        history: p.keys.history(resourceId, type),
        rankAll,
      },
      { ...scored, ...p.historyArgs(now) },
      // On a cluster the ranking is in another slot: a call of its own.
      p.cluster ? "rankAll" : undefined,
    );
    await p.exec("set counter", true, s.set, set.keys, set.args);
    if (!p.cluster) return;
    const score = SCORE.encode({ rankAll }, scored);
    await p.exec("set ranking score", true, s.score, score.keys, score.args);
  };
}

function resetter(p: AdminParts, s: AdminScripts) {
  return async (counter: CounterKey, now: number): Promise<void> => {
    const unique = counter.kind === "unique";
    const counterKey = p.keys.counter(counter.resourceId, counter.type, unique);
    const history = p.keys.history(counter.resourceId, counter.type);
    const dropped = unique
      ? [counterKey, history]
      : [counterKey, p.keys.users(counter.resourceId, counter.type), history];
    const rankings = ["all", ...liveBucketIds(now)].map((b) =>
      p.keys.ranking(counter.type, b, counter.resourceId),
    );
    const args = (dropping: string[]) =>
      RESET.encode({ counter: counterKey }, { member: counter.resourceId, dropped: String(dropping.length) })
        .args;
    if (!p.cluster) {
      await p.exec("reset", true, s.reset, [...dropped, ...rankings], args(dropped));
      return;
    }
    await p.exec("reset", true, s.reset, dropped, args(dropped));
    await p.exec("reset rankings", true, s.reset, rankings, args([]));
  };
}

/** An index entry `type:resource` as its parts. */
const entryOf = (entry: string) => {
  const at = entry.indexOf(":");
  return { type: entry.slice(0, at), resourceId: entry.slice(at + 1) };
};

/** Single shard: a page of entries in one script. */
async function eraseOnShard(p: AdminParts, s: AdminScripts, userId: string, entries: string[], now: number) {
  const first = entryOf(entries[0] as string);
  // Every type's buckets end at the same instants: the first entry's TTLs serve all.
  const { ttls } = p.rankingKeys(first.type, now, first.resourceId).named;
  const call = ERASE.encode(
    { index: p.keys.userIndex(userId) },
    { user: userId, rankCap: p.rankingCap, ...ttls, ...p.historyArgs(now) },
  );
  for (const entry of entries) {
    const { type, resourceId } = entryOf(entry);
    const one = ERASE_ENTRY.encode(
      {
        counter: p.keys.counter(resourceId, type, true),
        history: p.keys.history(resourceId, type),
        ...p.rankingKeys(type, now, resourceId).named.keys,
      },
      { entry, resource: resourceId },
    );
    call.keys.push(...one.keys);
    call.args.push(...one.args);
  }
  return num(await p.exec("erase user", true, s.erase, call.keys, call.args));
}

/** Cluster: per entry the counter's slot, then the ranking's, then the index's (last, so a rerun finds what is left). */
async function eraseOnCluster(
  p: AdminParts,
  s: AdminScripts,
  userId: string,
  entries: string[],
  now: number,
) {
  let removed = 0;
  await inParallel(entries, 20, async (entry) => {
    const { type, resourceId } = entryOf(entry);
    const one = ERASE_ONE.encode(
      { counter: p.keys.counter(resourceId, type, true), history: p.keys.history(resourceId, type) },
      { user: userId, ...p.historyArgs(now) },
    );
    const reply = (await p.exec("erase user", true, s.eraseOne, one.keys, one.args)) as unknown[];
    if (num(reply[0]) === 1) {
      removed++;
      await followUpOrFail(p, [{ type, resourceId, delta: -1, count: num(reply[1]) }], [], now);
    }
    // Last: a rerun finds what is left by the index.
    await followUpOrFail(p, [], [{ userId, type, resourceId, joined: false }], now);
  });
  return removed;
}

function eraser(p: AdminParts, s: AdminScripts) {
  return async (userId: string, now: number): Promise<number> => {
    const index = p.keys.userIndex(userId);
    let removed = 0;
    for (;;) {
      const call = INDEX_PAGE.encode({ index }, { count: String(ERASE_PAGE) });
      const page = (await p.exec("erase user", false, s.indexPage, call.keys, call.args)) as unknown[];
      if (page.length === 0) return removed;
      const entries = page.map(String);
      removed += p.cluster
        ? await eraseOnCluster(p, s, userId, entries, now)
        : await eraseOnShard(p, s, userId, entries, now);
    }
  };
}

/** One page of counter keys as records: one call on a single shard, one per key on a cluster. */
async function dumpPage(
  p: AdminParts,
  s: AdminScripts,
  keys: string[],
  members: boolean,
): Promise<CounterRecord[]> {
  const parsed = keys.flatMap((key) => {
    const counter = p.keys.parseCounter(key);
    return counter ? [{ key, ...counter }] : [];
  });
  const dump = async (group: typeof parsed) => {
    const call = DUMP.encode({}, { members: members ? "1" : "0" });
    for (const c of group) {
      const one = DUMP_ITEM.encode(
        { counter: c.key, history: p.keys.history(c.resourceId, c.type) },
        { kind: c.unique ? "u" : "t" },
      );
      call.keys.push(...one.keys);
      call.args.push(...one.args);
    }
    return (await p.exec("export", false, s.dump, call.keys, call.args)) as unknown[];
  };
  const replies = p.cluster ? (await Promise.all(parsed.map((c) => dump([c])))).flat() : await dump(parsed);
  return parsed.map((c, i) => recordOf(c, replies.slice(3 * i, 3 * i + 3), members));
}

/** A counter's dump reply {count, members, history as day, change, ...} as its record. */
function recordOf(
  c: { resourceId: string; type: string; unique: boolean },
  [count, users, days]: unknown[],
  members: boolean,
): CounterRecord {
  const record: CounterRecord = {
    resourceId: c.resourceId,
    type: c.type,
    kind: c.unique ? "unique" : "total",
    count: num(count),
  };
  if (c.unique && members) record.users = (users as unknown[]).map(String);
  const flat = days as unknown[];
  if (flat.length > 0) {
    const history = new Map<number, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) history.set(num(flat[i]), num(flat[i + 1]));
    record.history = history;
  }
  return record;
}

function exporter(p: AdminParts, s: AdminScripts) {
  return async function* (options: { members: boolean }): AsyncIterable<CounterRecord[]> {
    for await (const keys of p.scan(p.keys.counterPattern())) {
      if (keys.length > 0) yield await dumpPage(p, s, keys, options.members);
    }
  };
}

/** Loads one counter: a total in one call, a set in chunks of users (the first replaces it). */
async function importOne(p: AdminParts, s: AdminScripts, record: CounterRecord, now: number): Promise<void> {
  const unique = record.kind === "unique";
  const counterKey = p.keys.counter(record.resourceId, record.type, unique);
  const all = p.keys.ranking(record.type, "all", record.resourceId);
  const entry = `${record.type}:${record.resourceId}`;
  const users = record.users ?? [];
  let count = "0";
  for (let start = 0; start === 0 || start < users.length; start += IMPORT_CHUNK) {
    const chunk = unique ? users.slice(start, start + IMPORT_CHUNK) : [];
    const last = start + IMPORT_CHUNK >= users.length;
    const scored = !p.cluster && last;
    const call = IMPORT.encode(
      { counter: counterKey, rankAll: scored ? all : counterKey },
      {
        kind: unique ? "u" : "t",
        count: String(record.count),
        resource: record.resourceId,
        rankCap: p.rankingCap,
        indexEntry: entry,
        first: start === 0 ? "1" : "0",
        scored: scored ? "1" : "0",
      },
    );
    if (!p.cluster) call.keys.push(...chunk.map((u) => p.keys.userIndex(u)));
    call.args.push(...chunk);
    count = String(await p.exec("import", true, s.import, call.keys, call.args));
    if (p.cluster) {
      const joined = chunk.map((userId) => ({
        userId,
        type: record.type,
        resourceId: record.resourceId,
        joined: true,
      }));
      await followUpOrFail(p, [], joined, now);
    }
  }
  if (record.history) await importHistory(p, s, record, record.history);
  if (!p.cluster) return;
  const score = SCORE.encode({ rankAll: all }, { count, resource: record.resourceId, rankCap: p.rankingCap });
  await p.exec("import ranking score", true, s.score, score.keys, score.args);
}

/** Replaces a counter's history with the file's days. */
async function importHistory(
  p: AdminParts,
  s: AdminScripts,
  record: CounterRecord,
  days: ReadonlyMap<number, number>,
): Promise<void> {
  const call = IMPORT_HISTORY.encode({ history: p.keys.history(record.resourceId, record.type) }, {});
  for (const [day, delta] of days) {
    call.args.push(...IMPORT_DAY.encode({}, { day: String(day), delta: String(delta) }).args);
  }
  await p.exec("import history", true, s.importHistory, call.keys, call.args);
}

export function scriptAdmin(p: AdminParts): CounterAdmin {
  const s = adminScriptsFor(p.dialect);
  return {
    setCount: setter(p, s),
    reset: resetter(p, s),
    eraseUser: eraser(p, s),
    exportCounters: exporter(p, s),
    importCounters: (records, now) => inParallel(records, 20, (record) => importOne(p, s, record, now)),
  };
}
