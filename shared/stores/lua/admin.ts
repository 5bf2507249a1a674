// The Lua scripts of the operator's commands (admin routes, export and import), over the key
// layout and the ranking and history functions (ranking-fn.ts, history-fn.ts). Each touches one slot: on Redis
// Cluster the ranking keys ({type}) and a user's index ({user}) go in calls of their own.
// Like the increment's, each script's keys and arguments are declared once, by name.

import { layout } from "../script-layout.ts";
import { type LuaScript, type ScriptBodies, type ScriptDialect, scriptSetOf } from "../scripts.ts";
import { HISTORY_ARG_NAMES, HISTORY_FN } from "./history-fn.ts";
import { announce } from "./live.ts";
import { BUCKET_TTL_NAMES, RANK_FN, RANKING_KEY_NAMES, rankingArgs } from "./ranking-fn.ts";

/**
 * Set a total counter: the counter, its history and its all-time ranking (left out on Redis
 * Cluster: it comes last). The count, the resource, the ranking cap, and the day the
 * difference is recorded on with the history's bounds.
 */
export const SET = layout(
  { keys: "", args: "" },
  {
    keys: ["counter", "history", "rankAll"],
    args: ["count", "resource", "rankCap", "day", ...HISTORY_ARG_NAMES],
  },
);
const SET_BODY = `${RANK_FN}${HISTORY_FN}
local count = tonumber(${SET.arg.count})
local before = tonumber(redis.call('GET', ${SET.key.counter}) or '0')
if count == 0 then redis.call('DEL', ${SET.key.counter}) else redis.call('SET', ${SET.key.counter}, ${SET.arg.count}) end
if count ~= before then
  record_day(${SET.key.history}, ${SET.arg.day}, count - before, ${SET.arg.keepFrom}, ${SET.arg.historyDays})
  ${announce(SET.key.counter, SET.arg.count)}
end
if #KEYS > ${SET.keysBefore("rankAll")} then
  score_all(${SET.key.rankAll}, ${SET.arg.resource}, count, tonumber(${SET.arg.rankCap}), 'set')
end
return 1
`;

/** Cluster's second call of a set or an import: the all-time ranking and the score. */
export const SCORE = layout(
  { keys: "", args: "" },
  { keys: ["rankAll"], args: ["count", "resource", "rankCap"] },
);
const SCORE_BODY = `${RANK_FN}
score_all(${SCORE.key.rankAll}, ${SCORE.arg.resource}, tonumber(${SCORE.arg.count}), tonumber(${SCORE.arg.rankCap}), 'set')
return 1
`;

/**
 * Reset: KEYS are the keys deleted (the counter first, its HyperLogLog, its history:
 * `dropped` of them) and then the ranking keys the member is removed from; the counter is
 * announced at 0 when it is among them (Cluster's second call drops none).
 */
export const RESET = layout({ keys: "", args: "" }, { keys: ["counter"], args: ["member", "dropped"] });
const RESET_BODY = `
local dropped = tonumber(${RESET.arg.dropped})
for key = 1, #KEYS do
  if key <= dropped then redis.call('DEL', KEYS[key]) else redis.call('ZREM', KEYS[key], ${RESET.arg.member}) end
end
if dropped > 0 then ${announce(RESET.key.counter, "'0'")} end
return 1
`;

/** Up to `count` entries of a user's index (a read: no-writes). */
export const INDEX_PAGE = layout({ keys: "", args: "" }, { keys: ["index"], args: ["count"] });
const INDEX_PAGE_BODY = `
return redis.call('SRANDMEMBER', ${INDEX_PAGE.key.index}, ${INDEX_PAGE.arg.count})
`;

/**
 * Erase a user from some counters of one shard, as an unlike each, and drop their index
 * entries: the index, the user, the ranking cap, the buckets' TTLs and today's history
 * arguments; then per entry (ERASE_ENTRY) its keys and arguments.
 */
export const ERASE = layout(
  { keys: "", args: "" },
  { keys: ["index"], args: ["user", "rankCap", ...BUCKET_TTL_NAMES, "day", ...HISTORY_ARG_NAMES] },
);
/** One counter of an erasure, from the Lua offsets `k` and `a`: its set, history and rankings, its index entry and resource. */
export const ERASE_ENTRY = layout(
  { keys: "k", args: "a" },
  { keys: ["counter", "history", ...RANKING_KEY_NAMES], args: ["entry", "resource"] },
);
const EE = ERASE_ENTRY;
// Returns how many sets held the user.
const ERASE_BODY = `${RANK_FN}${HISTORY_FN}
local user, cap, removed = ${ERASE.arg.user}, tonumber(${ERASE.arg.rankCap}), 0
local keep_from, keep = ${ERASE.arg.keepFrom}, ${ERASE.arg.historyDays}
for i = 0, (#KEYS - ${ERASE.keyCount}) / ${EE.keyCount} - 1 do
  local k, a = ${ERASE.keyCount} + i * ${EE.keyCount}, ${ERASE.argCount} + i * ${EE.argCount}
  if redis.call('SREM', ${EE.key.counter}, user) == 1 then
    removed = removed + 1
    record_day(${EE.key.history}, ${ERASE.arg.day}, -1, keep_from, keep)
    local count = redis.call('SCARD', ${EE.key.counter})
    ${announce(EE.key.counter, "count")}
    rank(${rankingArgs(EE, ERASE)}, ${EE.arg.resource}, -1, count, cap, 'set')
  end
  redis.call('SREM', ${ERASE.key.index}, ${EE.arg.entry})
end
return removed
`;

/** Cluster: erase a user from one counter, today's history told. */
export const ERASE_ONE = layout(
  { keys: "", args: "" },
  { keys: ["counter", "history"], args: ["user", "day", ...HISTORY_ARG_NAMES] },
);
// {removed (0|1), count after}.
const ERASE_ONE_BODY = `${HISTORY_FN}
local removed = redis.call('SREM', ${ERASE_ONE.key.counter}, ${ERASE_ONE.arg.user})
local count = redis.call('SCARD', ${ERASE_ONE.key.counter})
if removed == 1 then
  record_day(${ERASE_ONE.key.history}, ${ERASE_ONE.arg.day}, -1, ${ERASE_ONE.arg.keepFrom}, ${ERASE_ONE.arg.historyDays})
  ${announce(ERASE_ONE.key.counter, "count")}
end
return {removed, count}
`;

/** Read counters for export (a read: no-writes): '1' to include the members of sets; then per counter DUMP_ITEM. */
export const DUMP = layout({ keys: "", args: "" }, { keys: [], args: ["members"] });
/** One counter of an export, from the Lua offsets `qk` and `qa`: the counter and its history, its kind (u|t). */
export const DUMP_ITEM = layout({ keys: "qk", args: "qa" }, { keys: ["counter", "history"], args: ["kind"] });
// Per counter: {count, members or {}, its history as day, change, ...}.
const DUMP_BODY = `
local out = {}
for q = 0, #KEYS / ${DUMP_ITEM.keyCount} - 1 do
  local qk, qa = q * ${DUMP_ITEM.keyCount}, ${DUMP.argCount} + q * ${DUMP_ITEM.argCount}
  if ${DUMP_ITEM.arg.kind} == 'u' then
    out[#out + 1] = redis.call('SCARD', ${DUMP_ITEM.key.counter})
    out[#out + 1] = ${DUMP.arg.members} == '1' and redis.call('SMEMBERS', ${DUMP_ITEM.key.counter}) or {}
  else
    out[#out + 1] = redis.call('GET', ${DUMP_ITEM.key.counter}) or '0'
    out[#out + 1] = {}
  end
  out[#out + 1] = redis.call('HGETALL', ${DUMP_ITEM.key.history})
end
return out
`;

/**
 * Import one counter, or one chunk of a set's users: the counter and its all-time ranking
 * (the counter again on Cluster), then the users' indexes (single shard only). The kind
 * (u|t), the count (totals), the resource, the ranking cap, the index entry, '1' for a set's
 * first chunk (the set is replaced), '1' when the ranking is there; then the users.
 */
export const IMPORT = layout(
  { keys: "", args: "" },
  {
    keys: ["counter", "rankAll"],
    args: ["kind", "count", "resource", "rankCap", "indexEntry", "first", "scored"],
  },
);
const I = IMPORT.arg;
// Returns the count after, as a string.
const IMPORT_BODY = `${RANK_FN}
local count
if ${I.kind} == 't' then
  count = tonumber(${I.count})
  if count == 0 then redis.call('DEL', ${IMPORT.key.counter}) else redis.call('SET', ${IMPORT.key.counter}, ${I.count}) end
else
  if ${I.first} == '1' then redis.call('DEL', ${IMPORT.key.counter}) end
  if #ARGV > ${IMPORT.argCount} then redis.call('SADD', ${IMPORT.key.counter}, unpack(ARGV, ${IMPORT.argCount + 1})) end
  for ix = ${IMPORT.keyCount + 1}, #KEYS do redis.call('SADD', KEYS[ix], ${I.indexEntry}) end
  count = redis.call('SCARD', ${IMPORT.key.counter})
end
if ${I.scored} == '1' then score_all(${IMPORT.key.rankAll}, ${I.resource}, count, tonumber(${I.rankCap}), 'set') end
local exact = string.format('%.0f', count)
${announce(IMPORT.key.counter, "exact")}
return exact
`;

/** Import a counter's history: the hash is replaced by the pairs of day and change that follow. */
export const IMPORT_HISTORY = layout({ keys: "", args: "" }, { keys: ["history"], args: [] });
export const IMPORT_DAY = layout({ keys: "", args: "d" }, { keys: [], args: ["day", "delta"] });
const IMPORT_HISTORY_BODY = `
redis.call('DEL', ${IMPORT_HISTORY.key.history})
for d = ${IMPORT_HISTORY.argCount}, #ARGV - 1, ${IMPORT_DAY.argCount} do
  redis.call('HSET', ${IMPORT_HISTORY.key.history}, ${IMPORT_DAY.arg.day}, ${IMPORT_DAY.arg.delta})
end
return 1
`;

export interface AdminScripts {
  set: LuaScript;
  score: LuaScript;
  reset: LuaScript;
  indexPage: LuaScript;
  erase: LuaScript;
  eraseOne: LuaScript;
  dump: LuaScript;
  import: LuaScript;
  importHistory: LuaScript;
}

const BODIES: ScriptBodies<keyof AdminScripts> = {
  set: ["write", SET_BODY],
  score: ["write", SCORE_BODY],
  reset: ["write", RESET_BODY],
  indexPage: ["readOnly", INDEX_PAGE_BODY],
  erase: ["write", ERASE_BODY],
  eraseOne: ["write", ERASE_ONE_BODY],
  dump: ["readOnly", DUMP_BODY],
  import: ["write", IMPORT_BODY],
  importHistory: ["write", IMPORT_HISTORY_BODY],
};

export const adminScriptsFor = (dialect: ScriptDialect): AdminScripts => scriptSetOf(dialect, BODIES);
