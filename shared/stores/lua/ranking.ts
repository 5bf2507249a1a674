// Ranking reads: a ranking key's top, and a week's as the sum of its days.

import { layout } from "../script-layout.ts";

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
export const RANKING_BODY = `${TOP_FN}
return top_of(${RANKING.key.ranking}, tonumber(${RANKING.arg.limit}))
`;

// The week's ranking, the sum of its day buckets (a write adds to the hour and the day only):
// KEYS the sum, kept for ARGV's TTL ms (named by the minute: at most a minute behind), then
// the week's days; the top as RANKING_BODY answers it. A writer (ZUNIONSTORE), so a store that
// refuses writes is asked WEEK_READ_BODY instead: every positive member of the days' union
// (ZUNION, a read), for the caller to sort.
export const WEEK = layout({ keys: "", args: "" }, { keys: ["sum"], args: ["limit", "ttl"] });
export const WEEK_BODY = `${TOP_FN}
if redis.call('EXISTS', ${WEEK.key.sum}) == 0 then
  redis.call('ZUNIONSTORE', ${WEEK.key.sum}, #KEYS - ${WEEK.keyCount}, unpack(KEYS, ${WEEK.keyCount + 1}))
  redis.call('PEXPIRE', ${WEEK.key.sum}, ${WEEK.arg.ttl})
end
return top_of(${WEEK.key.sum}, tonumber(${WEEK.arg.limit}))
`;
export const WEEK_READ_BODY = `
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
