// Rate limits in Lua: one window's keys and arguments by name, the check every write script
// runs (LIMIT_FN), and the check on its own.

import { layout } from "../script-layout.ts";

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
export const LIMIT_FN = `
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

// A rate-limit check on its own (reads, and writes on Redis Cluster): nothing but windows.
// Returns {1} when allowed, else over_limit's answer.
export const LIMIT_BODY = `${LIMIT_FN}
return over_limit(0, 0) or {1}
`;
