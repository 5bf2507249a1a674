// One increment: its keys and arguments by name (ITEM), the apply and replay functions a batch
// shares (APPLY_FN), and the single increment's script.

import { layout } from "../script-layout.ts";
import { HISTORY_ARG_NAMES, HISTORY_FN } from "./history-fn.ts";
import { LIMIT_FN } from "./limits.ts";
import { announce } from "./live.ts";
import { BUCKET_TTL_NAMES, RANK_FN, RANKING_KEY_NAMES, rankingArgs } from "./ranking-fn.ts";

/**
 * One increment's keys and arguments, by name, from the Lua offsets `k` and `a` (0 for a
 * single increment, the item's place in a batch): the counter (a set or a string), the
 * users' HyperLogLog, the Idempotency-Key's record, the user's index of unique counters, and
 * the counter's history, and the all-time, hour and day rankings (left out on Redis
 * Cluster, where they live in another slot and go in a call of their own: they come last).
 * Arguments: the kind (u|t), the user, the delta, the request's fingerprint ('' without a
 * key), the record's TTL ms ('0': checked, never written), the resource, the hour and day
 * buckets' TTLs ms, the ranking cap, the largest exact count, the index entry
 * (`type:resource`; '' on Cluster), the day (yyyymmdd), the first day kept and the days kept.
 */
export const ITEM = layout(
  { keys: "k", args: "a" },
  {
    keys: ["counter", "users", "record", "userIndex", "history", ...RANKING_KEY_NAMES],
    args: [
      "kind",
      "user",
      "delta",
      "fingerprint",
      "recordTtl",
      "resource",
      ...BUCKET_TTL_NAMES,
      "rankCap",
      "maxCount",
      "indexEntry",
      "day",
      ...HISTORY_ARG_NAMES,
    ],
  },
);
const K = ITEM.key;
const A = ITEM.arg;

// replayed() answers a repeated Idempotency-Key: nil when new, {count, applied, 1} when
// replayed, {0, 0, 2} when the key came with another request. apply() returns {count,
// applied (0|1), 0}, or {0, 0, 4} when the count would pass the largest exact count (nothing
// applied). Counts are integers below 2^53, exact as Lua numbers; they leave the script as
// strings formatted with %.0f: Lua's own tostring gives 1e+14, and ioredis 6 decodes an
// integer reply as `n * 10 + digit`, whose intermediate passes 2^53 (9007199254740991
// arrived as 9007199254740992).
export const APPLY_FN = `${RANK_FN}${HISTORY_FN}
local function legacy_match(sfp, a)
  local tail = '|' .. ${A.user} .. '|' .. ${A.delta}
  return string.find(sfp, '|', 1, true) ~= nil and string.sub(sfp, -#tail) == tail
end
local function replayed(k, a)
  if ${A.fingerprint} == '' then return nil end
  local rec = redis.call('GET', ${K.record})
  if not rec then return nil end
  local sfp, scount, sapplied = string.match(rec, '^(.*)\\n(%d+)\\n(%d)$')
  if sfp ~= ${A.fingerprint} and not legacy_match(sfp, a) then return {0, 0, 2} end
  return {scount, tonumber(sapplied), 1}
end
local function apply(k, a, ranked)
  local user, delta = ${A.user}, tonumber(${A.delta})
  local count, applied
  if ${A.kind} == 'u' then
    applied = redis.call(delta > 0 and 'SADD' or 'SREM', ${K.counter}, user)
    count = redis.call('SCARD', ${K.counter})
    if applied == 1 and ${A.indexEntry} ~= '' then
      redis.call(delta > 0 and 'SADD' or 'SREM', ${K.userIndex}, ${A.indexEntry})
    end
  else
    count = redis.call('INCRBY', ${K.counter}, delta)
    if count > tonumber(${A.maxCount}) then
      redis.call('DECRBY', ${K.counter}, delta)
      return {0, 0, 4}
    end
    redis.call('PFADD', ${K.users}, user)
    applied = 1
  end
  local exact = string.format('%.0f', count)
  if applied == 1 then
    record_day(${K.history}, ${A.day}, delta, ${A.keepFrom}, ${A.historyDays})
    ${announce(K.counter, "exact")}
  end
  if ${A.fingerprint} ~= '' and ${A.recordTtl} ~= '0' then
    redis.call('SET', ${K.record}, ${A.fingerprint} .. '\\n' .. exact .. '\\n' .. applied, 'PX', ${A.recordTtl})
  end
  if applied == 1 and ranked then
    rank(${rankingArgs(ITEM, ITEM)}, ${A.resource}, delta, count, tonumber(${A.rankCap}), 'set')
  end
  return {exact, applied, 0}
end
`;

// A single increment: one item's keys and arguments from 0, then (not on Cluster) the
// rate-limit windows after them. Returns what apply() or replayed() does, or over_limit's
// refusal.
export const INCREMENT_BODY = `${APPLY_FN}${LIMIT_FN}
local replay = replayed(0, 0)
if replay then return replay end
if #KEYS > ${ITEM.keyCount} then
  local limited = over_limit(${ITEM.keyCount}, ${ITEM.argCount})
  if limited then return limited end
end
return apply(0, 0, #KEYS >= ${ITEM.keyCount})
`;
