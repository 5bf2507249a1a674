// Queued events: the claim of a POST's Idempotency-Key, a counter's events applied at once,
// and the local event queue.

import { layout } from "../script-layout.ts";
import { HISTORY_ARG_NAMES, HISTORY_FN } from "./history-fn.ts";
import { announce } from "./live.ts";
import { BUCKET_TTL_NAMES, RANK_FN, RANKING_KEY_NAMES, rankingArgs } from "./ranking-fn.ts";

// An Idempotency-Key claimed for queued events: KEYS the record, ARGV its fingerprint and TTL
// ms. Returns {0} when new (recorded), {1} for the same request, {2} for another.
export const CLAIM = layout({ keys: "", args: "" }, { keys: ["record"], args: ["fingerprint", "ttl"] });
export const CLAIM_BODY = `
local rec = redis.call('GET', ${CLAIM.key.record})
if not rec then
  redis.call('SET', ${CLAIM.key.record}, ${CLAIM.arg.fingerprint}, 'PX', ${CLAIM.arg.ttl})
  return {0}
end
if rec == ${CLAIM.arg.fingerprint} then return {1} end
return {2}
`;

/**
 * Queued events of one counter, coalesced: the counter, its users' HyperLogLog (the counter
 * for a unique type), the event_ids seen (a sorted set scored by time), its history, the
 * rankings (left out on Cluster; the users' indexes follow, on a single shard). Arguments: the
 * kind (u|t), now ms, how long ids are remembered (ms), the resource, the buckets' TTLs ms, the
 * ranking cap, the largest exact count, the index entry, '1' when the rankings are there, the
 * first day of history kept and the days kept; then each event.
 */
export const EVENTS = layout(
  { keys: "", args: "" },
  {
    keys: ["counter", "users", "eventIds", "history", ...RANKING_KEY_NAMES],
    args: [
      "kind",
      "now",
      "idTtl",
      "resource",
      ...BUCKET_TTL_NAMES,
      "rankCap",
      "maxCount",
      "indexEntry",
      "ranked",
      ...HISTORY_ARG_NAMES,
    ],
  },
);
/**
 * One event's arguments, from the Lua offset `e`: its id, user, delta, its user's index key's
 * place (0: none) and the day it was accepted on (its history's day).
 */
export const EVENT = layout(
  { keys: "", args: "e" },
  { keys: [], args: ["id", "user", "delta", "indexKey", "day"] },
);
const EK = EVENTS.key;
const EA = EVENTS.arg;
const E = EVENT.arg;

// Each id counts once: first the new ones are found (and a total's sum checked against the
// largest count: {0, count, 4} applies nothing), then applied in order. Returns {new events,
// count, 0, net change, then '+user' or '-user' per membership changed (Cluster's index call)}.
export const EVENTS_BODY = `${RANK_FN}${HISTORY_FN}
local kind, now, ttl = ${EA.kind}, tonumber(${EA.now}), tonumber(${EA.idTtl})
redis.call('ZREMRANGEBYSCORE', ${EK.eventIds}, '-inf', now - ttl)
local fresh, seen, sum = {}, {}, 0
for e = ${EVENTS.argCount}, #ARGV - 1, ${EVENT.argCount} do
  local id = ${E.id}
  if not seen[id] and not redis.call('ZSCORE', ${EK.eventIds}, id) then
    seen[id] = true
    fresh[#fresh + 1] = e
    sum = sum + tonumber(${E.delta})
  end
end
local current = kind == 't' and tonumber(redis.call('GET', ${EK.counter}) or '0') or 0
if kind == 't' and current + sum > tonumber(${EA.maxCount}) then return {0, string.format('%.0f', current), 4} end
local net, users, changed, by_day = 0, {}, {}, {}
for _, e in ipairs(fresh) do
  redis.call('ZADD', ${EK.eventIds}, now, ${E.id})
  local user, delta, ix, day = ${E.user}, tonumber(${E.delta}), tonumber(${E.indexKey}), ${E.day}
  local applied = kind ~= 'u' or redis.call(delta > 0 and 'SADD' or 'SREM', ${EK.counter}, user) == 1
  if applied then
    net = net + delta
    by_day[day] = (by_day[day] or 0) + delta
  end
  if kind == 'u' and applied then
    changed[#changed + 1] = (delta > 0 and '+' or '-') .. user
    if ix > 0 then redis.call(delta > 0 and 'SADD' or 'SREM', KEYS[ix], ${EA.indexEntry}) end
  elseif kind ~= 'u' then
    users[#users + 1] = user
  end
end
local keep_from = tonumber(${EA.keepFrom})
for day, delta in pairs(by_day) do
  if delta ~= 0 and tonumber(day) >= keep_from then
    record_day(${EK.history}, day, delta, ${EA.keepFrom}, ${EA.historyDays})
  end
end
if #fresh > 0 then redis.call('PEXPIRE', ${EK.eventIds}, ttl) end
local count
if kind == 'u' then
  count = redis.call('SCARD', ${EK.counter})
else
  count = net > 0 and redis.call('INCRBY', ${EK.counter}, net) or current
  if #users > 0 then redis.call('PFADD', ${EK.users}, unpack(users)) end
end
if net ~= 0 and ${EA.ranked} == '1' then
  rank(${rankingArgs(EVENTS, EVENTS)}, ${EA.resource}, net, count, tonumber(${EA.rankCap}), 'set')
end
local exact = string.format('%.0f', count)
if net ~= 0 then ${announce(EK.counter, "exact")} end
local out = {#fresh, exact, 0, net}
for _, c in ipairs(changed) do out[#out + 1] = c end
return out
`;

// The local event queue, a list: KEYS 1 the list. Push: ARGV messages appended. Take: up to
// ARGV[1] from the head (no-writes). Length: how many wait (no-writes). Remove: each ARGV
// message once (taken, now applied).
export const QUEUE = layout({ keys: "", args: "" }, { keys: ["queue"], args: [] });
export const QUEUE_PEEK = layout({ keys: "", args: "" }, { keys: ["queue"], args: ["max"] });
export const QUEUE_PUSH_BODY = `
return redis.call('RPUSH', ${QUEUE.key.queue}, unpack(ARGV))
`;
export const QUEUE_PEEK_BODY = `
return redis.call('LRANGE', ${QUEUE_PEEK.key.queue}, 0, tonumber(${QUEUE_PEEK.arg.max}) - 1)
`;
export const QUEUE_LENGTH_BODY = `
return redis.call('LLEN', ${QUEUE.key.queue})
`;
export const QUEUE_REMOVE_BODY = `
for _, message in ipairs(ARGV) do redis.call('LREM', ${QUEUE.key.queue}, 1, message) end
return #ARGV
`;
