// The operator's commands over the Lua scripts (admin routes, export, import), for the Redis
// and Upstash stores: one script per command on a single shard; on Redis Cluster one call
// per slot touched (the counter's, the ranking's, a user's index).

import { liveBucketIds } from "../domain/buckets.ts";
import type { CounterAdmin, CounterKey, CounterRecord } from "../domain/model.ts";
import { type AdminScripts, adminScriptsFor } from "./admin-scripts.ts";
import { followUpOrFail } from "./cluster-calls.ts";
import { num, type RankingKeys } from "./script-kernel.ts";
import type { KeyLayout, LuaScript, ScriptSet } from "./scripts.ts";

/** What the admin commands need of the script store. */
export interface AdminParts {
  keys: KeyLayout;
  cluster: boolean;
  rankingCap: string;
  dialect: "redis" | "upstash";
  /** The increment's own scripts: a cluster's erase and import reuse its ranking and index ones. */
  scripts: ScriptSet;
  exec(what: string, write: boolean, script: LuaScript, keys: string[], args: string[]): Promise<unknown>;
  /** The ranking keys of a type at an instant (all, hour, day, week) and the buckets' TTLs. */
  rankingKeys(type: string, now: number, resourceId: string): RankingKeys;
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
  return async (counter: CounterKey, count: number, _now: number): Promise<void> => {
    const counterKey = p.keys.counter(counter.resourceId, counter.type, false);
    const all = p.keys.ranking(counter.type, "all", counter.resourceId);
    const args = [String(count), counter.resourceId, p.rankingCap];
    if (!p.cluster) {
      await p.exec("set counter", true, s.set, [counterKey, all], args);
      return;
    }
    await p.exec("set counter", true, s.set, [counterKey], args);
    await p.exec("set ranking score", true, s.score, [all], args);
  };
}

function resetter(p: AdminParts, s: AdminScripts) {
  return async (counter: CounterKey, now: number): Promise<void> => {
    const unique = counter.kind === "unique";
    const counterKey = p.keys.counter(counter.resourceId, counter.type, unique);
    const dropped = unique ? [counterKey] : [counterKey, p.keys.users(counter.resourceId, counter.type)];
    const rankings = ["all", ...liveBucketIds(now)].map((b) =>
      p.keys.ranking(counter.type, b, counter.resourceId),
    );
    if (!p.cluster) {
      await p.exec(
        "reset",
        true,
        s.reset,
        [...dropped, ...rankings],
        [counter.resourceId, String(dropped.length)],
      );
      return;
    }
    await p.exec("reset", true, s.reset, dropped, [counter.resourceId, String(dropped.length)]);
    await p.exec("reset rankings", true, s.reset, rankings, [counter.resourceId, "0"]);
  };
}

/** An index entry `type:resource` as its parts. */
const entryOf = (entry: string) => {
  const at = entry.indexOf(":");
  return { type: entry.slice(0, at), resourceId: entry.slice(at + 1) };
};

/** Single shard: a page of entries in one script. */
async function eraseOnShard(p: AdminParts, s: AdminScripts, userId: string, entries: string[], now: number) {
  const keys = [p.keys.userIndex(userId)];
  const args = [userId, p.rankingCap];
  for (const entry of entries) {
    const { type, resourceId } = entryOf(entry);
    const ranking = p.rankingKeys(type, now, resourceId);
    if (args.length === 2) args.push(...ranking.ttls);
    keys.push(p.keys.counter(resourceId, type, true), ...ranking.keys);
    args.push(entry, resourceId);
  }
  return num(await p.exec("erase user", true, s.erase, keys, args));
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
    const counterKey = p.keys.counter(resourceId, type, true);
    const reply = (await p.exec("erase user", true, s.eraseOne, [counterKey], [userId])) as unknown[];
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
      const page = (await p.exec(
        "erase user",
        false,
        s.indexPage,
        [index],
        [String(ERASE_PAGE)],
      )) as unknown[];
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
    const args = [members ? "1" : "0", ...group.map((c) => (c.unique ? "u" : "t"))];
    return (await p.exec(
      "export",
      false,
      s.dump,
      group.map((c) => c.key),
      args,
    )) as unknown[];
  };
  const replies = p.cluster ? (await Promise.all(parsed.map((c) => dump([c])))).flat() : await dump(parsed);
  return parsed.map((c, i) => {
    const users = replies[2 * i + 1] as unknown[];
    const record: CounterRecord = {
      resourceId: c.resourceId,
      type: c.type,
      kind: c.unique ? "unique" : "total",
      count: num(replies[2 * i]),
    };
    if (c.unique && members) record.users = users.map(String);
    return record;
  });
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
    const keys = [
      counterKey,
      scored ? all : counterKey,
      ...(p.cluster ? [] : chunk.map((u) => p.keys.userIndex(u))),
    ];
    const args = [unique ? "u" : "t", String(record.count), record.resourceId, p.rankingCap, entry];
    args.push(start === 0 ? "1" : "0", scored ? "1" : "0", ...chunk);
    count = String(await p.exec("import", true, s.import, keys, args));
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
  if (p.cluster)
    await p.exec("import ranking score", true, s.score, [all], [count, record.resourceId, p.rankingCap]);
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
