// Reads: many counters at once, and a counter's history.

import { layout } from "../script-layout.ts";

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
export const READ_BODY = `
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
export const HISTORY_BODY = `
local count
if ${HISTORY.arg.kind} == 'u' then
  count = redis.call('SCARD', ${HISTORY.key.counter})
else
  count = redis.call('GET', ${HISTORY.key.counter}) or '0'
end
return {count, redis.call('HMGET', ${HISTORY.key.history}, unpack(ARGV, ${HISTORY.argCount + 1}))}
`;
