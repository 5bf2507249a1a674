// The ranking update every write script shares (RANK_FN), and the names its keys and TTLs go by.

/** The rankings a write updates (all-time, hour, day: a week is read as the sum of its days), and the buckets' TTLs, by the names every layout gives them. */
export const RANKING_KEY_NAMES = ["rankAll", "rankHour", "rankDay"] as const;
export const BUCKET_TTL_NAMES = ["ttlHour", "ttlDay"] as const;

/** The bucket keys a write adds to, each with its TTL's name, in the order both lists give them. */
const BUCKETS = RANKING_KEY_NAMES.slice(1).map((key, i) => [key, BUCKET_TTL_NAMES[i] as string] as const);

/**
 * The arguments of a call to RANK_FN's rank(): the ranking keys and bucket TTLs as the Lua
 * expressions of a layout that names them (`keys`; `ttls` when another layout holds those).
 */
export function rankingArgs(
  keys: { key: Record<(typeof RANKING_KEY_NAMES)[number], string> },
  ttls: { arg: Record<(typeof BUCKET_TTL_NAMES)[number], string> },
): string {
  return [...RANKING_KEY_NAMES.map((n) => keys.key[n]), ...BUCKET_TTL_NAMES.map((n) => ttls.arg[n])].join(
    ", ",
  );
}

// Ranking update: the all-time ranking and the hour and day buckets (a week is read as the
// sum of its days), the buckets expiring their TTL ms from now (relative, so the Redis clock
// and ours need not agree). The all-time score is the counter's value itself (`count`), not
// a sum of deltas, so a member trimmed away re-enters with its exact count; at 0 it leaves
// the key. `mode` 'gt' (Redis Cluster, where this is a second call that may land out of
// order) only raises a score on a rise. A bucket is created with its first member, and every
// later TTL would name the same instant, so the TTL is set only when the member is new to
// the bucket: the common case, a resource already ranked, costs no PEXPIRE. A bucket keeps
// negative scores (an unlike today of yesterday's like) so that a later re-like nets to
// zero. Each key keeps at most `cap` members, the lowest trimmed only when one was added.
// Numbers go to Redis formatted with %.0f: Lua would write 1e+14. Keys and TTLs come as
// values, named as the layouts name them (rankingArgs writes a call's).
export const RANK_FN = `
local function trim(key, cap)
  local n = redis.call('ZCARD', key)
  if n > cap then redis.call('ZREMRANGEBYRANK', key, 0, n - cap - 1) end
end
local function score_all(key, member, count, cap, mode)
  local score = string.format('%.0f', count)
  if count <= 0 then
    redis.call('ZREM', key, member)
  elseif mode == 'gt' then
    if redis.call('ZADD', key, 'GT', score, member) == 1 then trim(key, cap) end
  elseif redis.call('ZADD', key, score, member) == 1 then
    trim(key, cap)
  end
end
local function add_to_bucket(key, ttl, member, delta, cap)
  if tonumber(redis.call('ZINCRBY', key, delta, member)) == delta then
    redis.call('PEXPIRE', key, ttl)
    trim(key, cap)
  end
end
local function rank(${[...RANKING_KEY_NAMES, ...BUCKET_TTL_NAMES].join(", ")}, member, delta, count, cap, mode)
  score_all(rankAll, member, count, cap, delta > 0 and mode or 'set')
${BUCKETS.map(([key, ttl]) => `  add_to_bucket(${key}, ${ttl}, member, delta, cap)`).join("\n")}
end
`;
