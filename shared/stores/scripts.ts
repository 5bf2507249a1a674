// The Lua scripts and key layout shared by the Redis (ioredis) and Upstash (REST) stores.
// Only the first line differs: Upstash needs `allow-key-locking` (else a script takes a
// database-wide lock), a flag open-source Redis 7 rejects.

import { createHash } from "node:crypto";
import { subjectDigest } from "./fingerprint.ts";
import { layout } from "./script-layout.ts";

/**
 * Every key of one resource shares the hash tag `{resource_id}` (Redis Cluster: one slot,
 * so the increment script may touch them all); identifiers cannot contain braces.
 * Ranking keys of one counter type share the tag `{type}` under `rank:`.
 */
/** A resource's ranking shard: FNV-1a of its id, so it never moves. */
export function shardOf(resourceId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < resourceId.length; i++) {
    hash ^= resourceId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

export class KeyLayout {
  /**
   * `rankingShards` > 1 (Redis Cluster): each ranking is split over that many hash tags,
   * `{type:shard}`, a resource always in the same shard, so one type's ranking writes spread
   * over the cluster's nodes instead of all landing on one.
   */
  constructor(
    private readonly prefix: string,
    readonly rankingShards = 1,
  ) {}
  counter(resourceId: string, type: string, unique: boolean): string {
    return `${this.prefix}:{${resourceId}}:${unique ? "u" : "t"}:${type}`;
  }
  /** HyperLogLog of the user_ids that incremented a total counter. */
  users(resourceId: string, type: string): string {
    return `${this.prefix}:{${resourceId}}:n:${type}`;
  }
  idempotency(resourceId: string, key: string): string {
    return `${this.prefix}:{${resourceId}}:i:${key}`;
  }
  /**
   * A keyed batch's one record: the request's fingerprint and every item's answer, named by
   * the key's digest. On Redis Cluster, one more per resource the batch touches (`resourceId`),
   * in that resource's slot, so a retry after a partial failure applies each item once.
   */
  /** The Idempotency-Key record of a POST of queued events, named by the key's digest. */
  eventsRecord(key: string): string {
    return `${this.prefix}:iq:{${subjectDigest(key)}}`;
  }
  batchRecord(key: string, resourceId?: string): string {
    const digest = subjectDigest(key);
    return resourceId === undefined
      ? `${this.prefix}:ib:{${digest}}`
      : `${this.prefix}:{${resourceId}}:ib:${digest}`;
  }
  /** The unique counters a user is in (`type:resource` entries), for erasure: the user's hash tag. */
  userIndex(userId: string): string {
    return `${this.prefix}:ux:{${userId}}`;
  }
  /** The data format the store holds (data-format.ts); outside every counter's pattern. */
  dataFormat(): string {
    return `${this.prefix}:format`;
  }
  /** What SCAN matches to find every counter (sets and totals; rankings and the rest start otherwise). */
  counterPattern(): string {
    return `${this.prefix}:{*}:[ut]:*`;
  }
  /** A counter key as its resource, kind and type; undefined for any other key. */
  parseCounter(key: string): { resourceId: string; unique: boolean; type: string } | undefined {
    const head = `${this.prefix}:{`;
    if (!key.startsWith(head)) return undefined;
    const match = /^([^{}]+)\}:([ut]):([a-z][a-z0-9_]*)$/.exec(key.slice(head.length));
    return match
      ? { resourceId: match[1] as string, unique: match[2] === "u", type: match[3] as string }
      : undefined;
  }
  /** A counter's history: a hash of each kept day's net change (`20261206` -> change). */
  history(resourceId: string, type: string): string {
    return `${this.prefix}:{${resourceId}}:h:${type}`;
  }
  /** The event_ids applied to a counter in the last 24 h (a sorted set scored by time), for exactly-once. */
  eventIds(resourceId: string, type: string): string {
    return `${this.prefix}:{${resourceId}}:e:${type}`;
  }
  /** The local event queue (a list of messages), when there is no SQS. */
  eventQueue(): string {
    return `${this.prefix}:events:queue`;
  }
  /**
   * A rate-limit window of one subject (`ip:…`, `key:…`, `user:…`), named by the subject's
   * digest (its own hash tag): no user_id or address in a key.
   */
  rateWindow(subject: string, window: number): string {
    return `${this.prefix}:rl:{${subjectDigest(subject)}}:${window}`;
  }
  /** `bucket` is `all` or a bucket id such as `d20261126`; sharded, the resource picks the shard. */
  ranking(type: string, bucket: string, resourceId = ""): string {
    if (this.rankingShards === 1) return `${this.prefix}:rank:{${type}}:${bucket}`;
    return `${this.prefix}:rank:{${type}:${shardOf(resourceId, this.rankingShards)}}:${bucket}`;
  }
  /** Every shard's key of a ranking, for reads that merge them. */
  rankingShardKeys(type: string, bucket: string): string[] {
    if (this.rankingShards === 1) return [this.ranking(type, bucket)];
    return Array.from(
      { length: this.rankingShards },
      (_, s) => `${this.prefix}:rank:{${type}:${s}}:${bucket}`,
    );
  }
}

// Keeps the sorted set KEYS[k] to at most `cap` members, dropping the lowest scores.
const TRIM_FN = `
local function trim(k, cap)
  local n = redis.call('ZCARD', KEYS[k])
  if n > cap then redis.call('ZREMRANGEBYRANK', KEYS[k], 0, n - cap - 1) end
end
`;

/** The rankings a write updates (all-time, hour, day: a week is read as the sum of its days), and the buckets' TTLs, by the names every layout gives them. */
export const RANKING_KEY_NAMES = ["rankAll", "rankHour", "rankDay"] as const;
export const BUCKET_TTL_NAMES = ["ttlHour", "ttlDay"] as const;

// Ranking update: KEYS[r] is the all-time ranking, KEYS[r+1..] the hour and day buckets,
// expiring ARGV[a+1..] ms from now (relative, so the Redis clock and ours need
// not agree). The all-time score is the counter's value itself (`count`), not a sum of
// deltas, so a member trimmed away re-enters with its exact count; at 0 it leaves the key.
// `mode` 'gt' (Redis Cluster, where this is a second call that may land out of order) only
// raises a score on a rise. A bucket is created with its first member, and every later TTL
// would name the same instant, so the TTL is set only when the member is new to the bucket:
// the common case, a resource already ranked, costs no PEXPIRE. A bucket keeps negative
// scores (an unlike today of yesterday's like) so that a later re-like nets to zero. Each
// key keeps at most `cap` members: trimmed only when one was added. Numbers go to Redis
// formatted with %.0f: Lua would write 1e+14.
export const RANK_FN = `${TRIM_FN}
local function score_all(k, member, count, cap, mode)
  local score = string.format('%.0f', count)
  if count <= 0 then
    redis.call('ZREM', KEYS[k], member)
  elseif mode == 'gt' then
    if redis.call('ZADD', KEYS[k], 'GT', score, member) == 1 then trim(k, cap) end
  elseif redis.call('ZADD', KEYS[k], score, member) == 1 then
    trim(k, cap)
  end
end
local function rank(r, a, member, delta, count, cap, mode)
  score_all(r, member, count, cap, delta > 0 and mode or 'set')
  for i = 1, ${BUCKET_TTL_NAMES.length} do
    if tonumber(redis.call('ZINCRBY', KEYS[r + i], delta, member)) == delta then
      redis.call('PEXPIRE', KEYS[r + i], ARGV[a + i])
      trim(r + i, cap)
    end
  end
end
`;

// History: adds `delta` to `day` of the hash `h`. A day new to the hash may take it past
// `keep` days: then every day before `keep_from` goes (HKEYS of at most keep + 1 fields, once
// a day per counter at most), so a counter keeps at most `keep` days without a keyspace scan.
// `keep` and `keep_from` arrive as the arguments' strings: read as numbers only then.
export const HISTORY_FN = `
local function record_day(h, day, delta, keep_from, keep)
  if redis.call('HINCRBY', h, day, delta) == delta and redis.call('HLEN', h) > tonumber(keep) then
    keep_from = tonumber(keep_from)
    for _, d in ipairs(redis.call('HKEYS', h)) do
      if tonumber(d) < keep_from then redis.call('HDEL', h, d) end
    end
  end
end
`;

/** The history arguments every write that records a day carries (HISTORY_FN's last two). */
export const HISTORY_ARG_NAMES = ["keepFrom", "historyDays"] as const;

/**
 * One rate-limit window: its counter key, and its limit, TTL ms and weight (requests it
 * counts: 1, or a batch's items of one user; 0 checks for room for one and counts nothing),
 * from the Lua offsets `wk` and `wa` (the windows come one after another, each its own key and
 * three arguments).
 */
export const WINDOW = layout(
  { keys: "wk", args: "wa" },
  { keys: ["window"], args: ["limit", "ttl", "weight"] },
);
const W = WINDOW.arg;

// Rate limits, fixed windows: the windows from just after key offset k and argument offset a
// to the end of KEYS. Nothing is counted unless every window has room, so a refused request
// uses no quota. Returns nil, or {0, 0, 3, pttl, limit, i} for the i-th window (from 1).
const LIMIT_FN = `
local function over_limit(k, a)
  local n = #KEYS - k
  for i = 0, n - 1 do
    local wk, wa = k + i, a + i * ${WINDOW.argCount}
    local limit, weight = tonumber(${W.limit}), tonumber(${W.weight})
    if tonumber(redis.call('GET', ${WINDOW.key.window}) or '0') + math.max(weight, 1) > limit then
      return {0, 0, 3, redis.call('PTTL', ${WINDOW.key.window}), limit, i + 1}
    end
  end
  for i = 0, n - 1 do
    local wk, wa = k + i, a + i * ${WINDOW.argCount}
    local weight = tonumber(${W.weight})
    if weight > 0 and redis.call('INCRBY', ${WINDOW.key.window}, weight) == weight then
      redis.call('PEXPIRE', ${WINDOW.key.window}, ${W.ttl})
    end
  end
  return nil
end
`;

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
const APPLY_FN = `${RANK_FN}${HISTORY_FN}
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
  if applied == 1 then
    record_day(${K.history}, ${A.day}, delta, ${A.keepFrom}, ${A.historyDays})
  end
  local exact = string.format('%.0f', count)
  if ${A.fingerprint} ~= '' and ${A.recordTtl} ~= '0' then
    redis.call('SET', ${K.record}, ${A.fingerprint} .. '\\n' .. exact .. '\\n' .. applied, 'PX', ${A.recordTtl})
  end
  if applied == 1 and ranked then
    rank(${ITEM.keyAt("rankAll")}, ${ITEM.argBefore("ttlHour")}, ${A.resource}, delta, count, tonumber(${A.rankCap}), 'set')
  end
  return {exact, applied, 0}
end
`;

// A single increment: one item's keys and arguments from 0, then (not on Cluster) the
// rate-limit windows after them. Returns what apply() or replayed() does, or over_limit's
// refusal.
const INCREMENT_BODY = `${APPLY_FN}${LIMIT_FN}
local replay = replayed(0, 0)
if replay then return replay end
if #KEYS > ${ITEM.keyCount} then
  local limited = over_limit(${ITEM.keyCount}, ${ITEM.argCount})
  if limited then return limited end
end
return apply(0, 0, #KEYS >= ${ITEM.keyCount})
`;

/** A batch's own arguments, before its items', and its own key, after its items' (`n * kw` of them). */
export const MANY = layout(
  { keys: "n * kw", args: "" },
  { keys: ["record"], args: ["items", "keysPerItem", "fingerprint", "recordTtl"] },
);

// Many increments in one script, in order. Its own arguments (MANY: how many items, keys per
// item, all of ITEM's or on Cluster those before the rankings, the request's fingerprint, its
// record's TTL), then each item's arguments as ITEM's. KEYS: each item's keys, then the
// request's record (one key, whatever the item count), then the rate-limit windows, whose
// arguments follow the items'. An item's own record and fingerprint name a record a 0.1.0
// batch wrote per item: checked so that its retry after an upgrade replays, never written.
// A record of this request answers its retry; one of another request is {2, 0}. Otherwise
// every item is checked (an old per-item record of another request, a total that would pass
// the largest exact count, the limits), then the items not replayed are applied and the
// request's answers recorded: nothing is applied unless all can be.
// Returns {0, then count, applied, replayed per item}, {2, item} (a key reused: item 0 for
// the request), {4, item} (count too large) or over_limit's refusal {0, 0, 3, ...}.
const INCREMENT_MANY_BODY = `${APPLY_FN}${LIMIT_FN}
local n, kw = tonumber(${MANY.arg.items}), tonumber(${MANY.arg.keysPerItem})
local fingerprint, record_ttl = ${MANY.arg.fingerprint}, ${MANY.arg.recordTtl}
local record_key = ${MANY.key.record}
local windows_k = n * kw + ${MANY.keyCount}
local windows_a = ${MANY.argCount} + n * ${ITEM.argCount}
local function item_at(i) return (i - 1) * kw, ${MANY.argCount} + (i - 1) * ${ITEM.argCount} end
if fingerprint ~= '' then
  local rec = redis.call('GET', record_key)
  if rec then
    local sfp, answers = string.match(rec, '^([^\\n]*)\\n(.*)$')
    if sfp ~= fingerprint then return {2, 0} end
    local flat = {0}
    for count, applied in string.gmatch(answers, '(%d+),(%d);') do
      flat[#flat + 1] = count
      flat[#flat + 1] = tonumber(applied)
      flat[#flat + 1] = 1
    end
    return flat
  end
end
local out, pending, totals = {}, {}, {}
for i = 1, n do
  local k, a = item_at(i)
  local replay = replayed(k, a)
  if replay and replay[3] == 2 then return {2, i} end
  if replay then
    out[i] = replay
  else
    pending[#pending + 1] = i
    if ${A.kind} == 't' then
      local key = ${K.counter}
      totals[key] = (totals[key] or tonumber(redis.call('GET', key) or '0')) + tonumber(${A.delta})
      if totals[key] > tonumber(${A.maxCount}) then return {4, i} end
    end
  end
end
if #pending > 0 and #KEYS > windows_k then
  local limited = over_limit(windows_k, windows_a)
  if limited then return limited end
end
for _, i in ipairs(pending) do
  local k, a = item_at(i)
  out[i] = apply(k, a, kw == ${ITEM.keyCount})
end
local flat, answers = {0}, {}
for i = 1, n do
  flat[#flat + 1] = out[i][1]
  flat[#flat + 1] = out[i][2]
  flat[#flat + 1] = out[i][3]
  answers[i] = out[i][1] .. ',' .. out[i][2] .. ';'
end
if fingerprint ~= '' then
  redis.call('SET', record_key, fingerprint .. '\\n' .. table.concat(answers), 'PX', record_ttl)
end
return flat
`;

// A request's record on its own (Redis Cluster, where a batch's items are in many slots): KEYS
// the record, ARGV its fingerprint, then to write it the answers and the TTL ms. Reading
// returns {0} when there is none, {1, answers} for this request's, {2} for another's; writing
// returns {1}.
export const BATCH_RECORD = layout(
  { keys: "", args: "" },
  { keys: ["record"], args: ["fingerprint", "answers", "ttl"] },
);
const BATCH_RECORD_BODY = `
if ${BATCH_RECORD.arg.answers} ~= '' then
  redis.call('SET', ${BATCH_RECORD.key.record}, ${BATCH_RECORD.arg.fingerprint} .. '\\n' .. ${BATCH_RECORD.arg.answers}, 'PX', ${BATCH_RECORD.arg.ttl})
  return {1}
end
local rec = redis.call('GET', ${BATCH_RECORD.key.record})
if not rec then return {0} end
local sfp, answers = string.match(rec, '^([^\\n]*)\\n(.*)$')
if sfp ~= ${BATCH_RECORD.arg.fingerprint} then return {2} end
return {1, answers}
`;

// An Idempotency-Key claimed for queued events: KEYS the record, ARGV its fingerprint and TTL
// ms. Returns {0} when new (recorded), {1} for the same request, {2} for another.
export const CLAIM = layout({ keys: "", args: "" }, { keys: ["record"], args: ["fingerprint", "ttl"] });
const CLAIM_BODY = `
local rec = redis.call('GET', ${CLAIM.key.record})
if not rec then
  redis.call('SET', ${CLAIM.key.record}, ${CLAIM.arg.fingerprint}, 'PX', ${CLAIM.arg.ttl})
  return {0}
end
if rec == ${CLAIM.arg.fingerprint} then return {1} end
return {2}
`;

// A rate-limit check on its own (reads, and writes on Redis Cluster): nothing but windows.
// Returns {1} when allowed, else over_limit's answer.
const LIMIT_BODY = `${LIMIT_FN}
return over_limit(0, 0) or {1}
`;

// Redis Cluster's call to a user's index (another slot than the counter): KEYS 1 the index,
// ARGV pairs of '+' (add) or '-' (remove) and an entry (`type:resource`), in order.
export const INDEX = layout({ keys: "", args: "" }, { keys: ["index"], args: [] });
/** One change of a user's index, from the Lua offset `c`: '+' (add) or '-' (remove), and the entry. */
export const INDEX_CHANGE = layout({ keys: "", args: "c" }, { keys: [], args: ["op", "entry"] });
const INDEX_BODY = `
for c = 0, #ARGV - 1, ${INDEX_CHANGE.argCount} do
  redis.call(${INDEX_CHANGE.arg.op} == '+' and 'SADD' or 'SREM', ${INDEX.key.index}, ${INDEX_CHANGE.arg.entry})
end
return 1
`;

// Redis Cluster's ranking call (another slot than the counters) for the applied changes of
// one ranking shard: KEYS 1..4 rankings, ARGV 1..3 bucket TTLs ms, 4 ranking cap, then
// triples of member, delta, count after. 'gt': a call landing after a later one's never
// lowers a risen score.
export const RANK_MANY = layout(
  { keys: "", args: "" },
  { keys: RANKING_KEY_NAMES, args: [...BUCKET_TTL_NAMES, "rankCap"] },
);
/** One applied change of a ranking shard's call, from the Lua offset `c`: the resource, its delta and its count after. */
export const RANK_CHANGE = layout({ keys: "", args: "c" }, { keys: [], args: ["member", "delta", "count"] });
const RC = RANK_CHANGE.arg;
const RANK_MANY_BODY = `${RANK_FN}
local cap = tonumber(${RANK_MANY.arg.rankCap})
for c = ${RANK_MANY.argCount}, #ARGV - 1, ${RANK_CHANGE.argCount} do
  rank(${RANK_MANY.keyAt("rankAll")}, ${RANK_MANY.argBefore("ttlHour")}, ${RC.member}, tonumber(${RC.delta}), tonumber(${RC.count}), cap, 'gt')
end
return 1
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
const EVENTS_BODY = `${RANK_FN}${HISTORY_FN}
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
  rank(${EVENTS.keyAt("rankAll")}, ${EVENTS.argBefore("ttlHour")}, ${EA.resource}, net, count, tonumber(${EA.rankCap}), 'set')
end
local out = {#fresh, string.format('%.0f', count), 0, net}
for _, c in ipairs(changed) do out[#out + 1] = c end
return out
`;

// The local event queue, a list: KEYS 1 the list. Push: ARGV messages appended. Take: up to
// ARGV[1] from the head (no-writes). Remove: each ARGV message once (taken, now applied).
export const QUEUE = layout({ keys: "", args: "" }, { keys: ["queue"], args: [] });
export const QUEUE_PEEK = layout({ keys: "", args: "" }, { keys: ["queue"], args: ["max"] });
const QUEUE_PUSH_BODY = `
return redis.call('RPUSH', ${QUEUE.key.queue}, unpack(ARGV))
`;
const QUEUE_PEEK_BODY = `
return redis.call('LRANGE', ${QUEUE_PEEK.key.queue}, 0, tonumber(${QUEUE_PEEK.arg.max}) - 1)
`;
const QUEUE_REMOVE_BODY = `
for _, message in ipairs(ARGV) do redis.call('LREM', ${QUEUE.key.queue}, 1, message) end
return #ARGV
`;

// Many counters at once. Per query q: KEYS[2q-1] counter, KEYS[2q] users HLL;
// ARGV[2q-1] mode (t: total, T: total + unique users, u: unique, U: unique + membership),
// ARGV[2q] user. Returns {count, extra} per query (a total's count as the string stored,
// exact past what a client decodes from an integer reply); extra is -1 when not asked for. PFCOUNT
// may write (it caches the estimate in the HLL), so only a script run with 'T' queries is
// declared a writer; every other read is a no-writes script, which Redis runs also when it
// is out of memory or a read-only replica.
export const QUERY = layout(
  { keys: "qk", args: "qa" },
  { keys: ["counter", "users"], args: ["mode", "user"] },
);
const READ_BODY = `
local out = {}
for q = 0, #KEYS / ${QUERY.keyCount} - 1 do
  local qk, qa = q * ${QUERY.keyCount}, q * ${QUERY.argCount}
  local key, mode, user = ${QUERY.key.counter}, ${QUERY.arg.mode}, ${QUERY.arg.user}
  local count, extra = 0, -1
  if mode == 'u' or mode == 'U' then
    count = redis.call('SCARD', key)
    if mode == 'U' and user ~= '' then extra = redis.call('SISMEMBER', key, user) end
  else
    count = redis.call('GET', key) or '0'
    if mode == 'T' then extra = redis.call('PFCOUNT', ${QUERY.key.users}) end
  end
  out[#out + 1] = count
  out[#out + 1] = extra
end
return out
`;

// A counter's count and its change on each day asked for (a read: no-writes): KEYS the
// counter and its history, ARGV the kind (u|t), then the days (yyyymmdd). Returns {count, the
// days' changes (false for none)}.
export const HISTORY = layout({ keys: "", args: "" }, { keys: ["counter", "history"], args: ["kind"] });
const HISTORY_BODY = `
local count
if ${HISTORY.arg.kind} == 'u' then
  count = redis.call('SCARD', ${HISTORY.key.counter})
else
  count = redis.call('GET', ${HISTORY.key.counter}) or '0'
end
return {count, redis.call('HMGET', ${HISTORY.key.history}, unpack(ARGV, ${HISTORY.argCount + 1}))}
`;

// Top ARGV[1] members of the ranking KEYS[1] with a positive score. Redis orders equal
// scores by member in reverse when ranking high to low, so it returns the members strictly
// above the lowest score of the top (fewer than the limit), and the ties at that score in
// ascending order; the caller sorts the first and appends the second.
export const RANKING = layout({ keys: "", args: "" }, { keys: ["ranking"], args: ["limit"] });
const TOP_FN = `
local function top_of(key, limit)
  local top = redis.call('ZREVRANGEBYSCORE', key, '+inf', '(0', 'WITHSCORES', 'LIMIT', 0, limit)
  if #top == 0 then return {{}, {}} end
  local lowest = top[#top]
  return {
    redis.call('ZREVRANGEBYSCORE', key, '+inf', '(' .. lowest, 'WITHSCORES'),
    redis.call('ZRANGEBYSCORE', key, lowest, lowest, 'WITHSCORES', 'LIMIT', 0, limit),
  }
end
`;
const RANKING_BODY = `${TOP_FN}
return top_of(${RANKING.key.ranking}, tonumber(${RANKING.arg.limit}))
`;

// The week's ranking, the sum of its day buckets (a write adds to the hour and the day only):
// KEYS the sum, kept for ARGV's TTL ms (named by the minute: at most a minute behind), then
// the week's days; the top as RANKING_BODY answers it. A writer (ZUNIONSTORE), so a store that
// refuses writes is asked WEEK_READ_BODY instead: every positive member of the days' union
// (ZUNION, a read), for the caller to sort.
export const WEEK = layout({ keys: "", args: "" }, { keys: ["sum"], args: ["limit", "ttl"] });
const WEEK_BODY = `${TOP_FN}
if redis.call('EXISTS', ${WEEK.key.sum}) == 0 then
  redis.call('ZUNIONSTORE', ${WEEK.key.sum}, #KEYS - ${WEEK.keyCount}, unpack(KEYS, ${WEEK.keyCount + 1}))
  redis.call('PEXPIRE', ${WEEK.key.sum}, ${WEEK.arg.ttl})
end
return top_of(${WEEK.key.sum}, tonumber(${WEEK.arg.limit}))
`;
const WEEK_READ_BODY = `
local command = {'ZUNION', #KEYS - ${WEEK.keyCount}}
for day = ${WEEK.keyCount + 1}, #KEYS do command[#command + 1] = KEYS[day] end
command[#command + 1] = 'WITHSCORES'
local union, flat = redis.call(unpack(command)), {}
for i = 1, #union, 2 do
  if tonumber(union[i + 1]) > 0 then
    flat[#flat + 1] = union[i]
    flat[#flat + 1] = union[i + 1]
  end
end
return {flat, {}}
`;

/**
 * The status the increment, batch, limit and events scripts answer with (the third element
 * of {count, applied, status}, or the first of a batch's reply): one name per code.
 */
export const STATUS = { NEW: 0, REPLAYED: 1, KEY_REUSED: 2, RATE_LIMITED: 3, COUNT_LIMIT: 4 } as const;

export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

// A write-flagged script that writes nothing: refused exactly where a write would be (out of
// memory, read-only replica), so it tells a deep health check whether writes would go through.
const PROBE_BODY = `
return 1
`;

/** The recorded data format (KEYS[1]), or false. */
export const FORMAT = layout({ keys: "", args: "" }, { keys: ["format"], args: ["value"] });
const FORMAT_READ_BODY = `
return redis.call('GET', ${FORMAT.key.format})
`;

/** Records ARGV[1] as the data format unless one is (KEYS[1]); answers the one recorded. */
const FORMAT_RECORD_BODY = `
redis.call('SET', ${FORMAT.key.format}, ${FORMAT.arg.value}, 'NX')
return redis.call('GET', ${FORMAT.key.format})
`;

export interface ScriptSet {
  increment: LuaScript;
  incrementMany: LuaScript;
  batchRecord: LuaScript;
  claim: LuaScript;
  limit: LuaScript;
  rankMany: LuaScript;
  index: LuaScript;
  /** Reads with unique users ('T' queries): a writer, because of PFCOUNT. */
  readWithUsers: LuaScript;
  /** Reads without 'T' queries: no-writes. */
  read: LuaScript;
  ranking: LuaScript;
  /** The week's sum of days, made and kept a minute: a writer. */
  week: LuaScript;
  /** The same, for a store that refuses writes: no-writes. */
  weekRead: LuaScript;
  history: LuaScript;
  probe: LuaScript;
  formatRead: LuaScript;
  formatRecord: LuaScript;
  events: LuaScript;
  queuePush: LuaScript;
  queuePeek: LuaScript;
  queueRemove: LuaScript;
}

export type ScriptDialect = "redis" | "upstash";

export function script(source: string): LuaScript {
  return { source, sha1: createHash("sha1").update(source).digest("hex") };
}

/** The first line of a script that writes, and of one that does not, in a dialect. */
export function headersOf(dialect: ScriptDialect): { write: string; readOnly: string } {
  return dialect === "upstash"
    ? { write: "#!lua flags=allow-key-locking\n", readOnly: "#!lua flags=no-writes,allow-key-locking\n" }
    : { write: "#!lua\n", readOnly: "#!lua flags=no-writes\n" };
}

/** Whether a script writes, and its body: what a dialect's header is put before. */
export type ScriptBodies<K extends string> = Record<K, readonly ["write" | "readOnly", string]>;

/** A dialect's scripts from their bodies, each under the header its kind takes. */
export function scriptSetOf<K extends string>(
  dialect: ScriptDialect,
  bodies: ScriptBodies<K>,
): Record<K, LuaScript> {
  const headers = headersOf(dialect);
  const set = {} as Record<K, LuaScript>;
  for (const name in bodies) {
    const [kind, body] = bodies[name];
    set[name] = script(headers[kind] + body);
  }
  return set;
}

const BODIES: ScriptBodies<keyof ScriptSet> = {
  increment: ["write", INCREMENT_BODY],
  incrementMany: ["write", INCREMENT_MANY_BODY],
  batchRecord: ["write", BATCH_RECORD_BODY],
  claim: ["write", CLAIM_BODY],
  limit: ["write", LIMIT_BODY],
  rankMany: ["write", RANK_MANY_BODY],
  index: ["write", INDEX_BODY],
  readWithUsers: ["write", READ_BODY],
  read: ["readOnly", READ_BODY],
  ranking: ["readOnly", RANKING_BODY],
  week: ["write", WEEK_BODY],
  weekRead: ["readOnly", WEEK_READ_BODY],
  history: ["readOnly", HISTORY_BODY],
  probe: ["write", PROBE_BODY],
  formatRead: ["readOnly", FORMAT_READ_BODY],
  formatRecord: ["write", FORMAT_RECORD_BODY],
  events: ["write", EVENTS_BODY],
  queuePush: ["write", QUEUE_PUSH_BODY],
  queuePeek: ["readOnly", QUEUE_PEEK_BODY],
  queueRemove: ["write", QUEUE_REMOVE_BODY],
};

export const scriptsFor = (dialect: ScriptDialect): ScriptSet => scriptSetOf(dialect, BODIES);
