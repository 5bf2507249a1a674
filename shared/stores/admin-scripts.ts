// The Lua scripts of the operator's commands (admin routes, export and import), over the key
// layout and the ranking functions of scripts.ts. Each touches one slot: on Redis Cluster
// the ranking keys ({type}) and a user's index ({user}) go in calls of their own.

import { type LuaScript, RANK_FN, type ScriptBodies, type ScriptDialect, scriptSetOf } from "./scripts.ts";

// Set a total counter: KEYS 1 counter, 2 all-time ranking (absent on Cluster).
// ARGV 1 count, 2 resource id, 3 ranking cap.
const SET_BODY = `${RANK_FN}
local count = tonumber(ARGV[1])
if count == 0 then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[1]) end
if #KEYS >= 2 then score_all(2, ARGV[2], count, tonumber(ARGV[3]), 'set') end
return 1
`;

// Cluster's second call of a set or an import: KEYS 1 all-time ranking; ARGV as SET_BODY.
const SCORE_BODY = `${RANK_FN}
score_all(1, ARGV[2], tonumber(ARGV[1]), tonumber(ARGV[3]), 'set')
return 1
`;

// Reset: the first ARGV[2] KEYS are deleted (counter, HyperLogLog), the member ARGV[1] is
// removed from the rest (ranking keys).
const RESET_BODY = `
local n = tonumber(ARGV[2])
for k = 1, #KEYS do
  if k <= n then redis.call('DEL', KEYS[k]) else redis.call('ZREM', KEYS[k], ARGV[1]) end
end
return 1
`;

// Up to ARGV[1] entries of a user's index KEYS[1] (a read: no-writes).
const INDEX_PAGE_BODY = `
return redis.call('SRANDMEMBER', KEYS[1], ARGV[1])
`;

// Erase a user from some counters of one shard, as an unlike each, and drop their index
// entries. KEYS 1 the index, then per entry 5 keys: the counter's set, its all-time ranking
// and its hour, day and week buckets. ARGV 1 user, 2 ranking cap, 3..5 bucket TTLs ms, then
// per entry its index entry and its resource id. Returns how many sets held the user.
const ERASE_BODY = `${RANK_FN}
local user, cap, removed = ARGV[1], tonumber(ARGV[2]), 0
for i = 1, (#KEYS - 1) / 5 do
  local k = 2 + (i - 1) * 5
  if redis.call('SREM', KEYS[k], user) == 1 then
    removed = removed + 1
    rank(k + 1, 2, ARGV[5 + 2 * i], -1, redis.call('SCARD', KEYS[k]), cap, 'set')
  end
  redis.call('SREM', KEYS[1], ARGV[4 + 2 * i])
end
return removed
`;

// Cluster: erase a user from one counter (KEYS 1, ARGV 1 user): {removed (0|1), count after}.
const ERASE_ONE_BODY = `
return {redis.call('SREM', KEYS[1], ARGV[1]), redis.call('SCARD', KEYS[1])}
`;

// Read counters for export (a read: no-writes): KEYS counters, ARGV 1 '1' to include the
// members of sets, ARGV[1 + i] the kind of KEYS[i] (u|t). Per key: {count, members or {}}.
const DUMP_BODY = `
local out = {}
for i = 1, #KEYS do
  if ARGV[1 + i] == 'u' then
    out[#out + 1] = redis.call('SCARD', KEYS[i])
    out[#out + 1] = ARGV[1] == '1' and redis.call('SMEMBERS', KEYS[i]) or {}
  else
    out[#out + 1] = redis.call('GET', KEYS[i]) or '0'
    out[#out + 1] = {}
  end
end
return out
`;

// Import one counter, or one chunk of a set's users: KEYS 1 counter, 2 all-time ranking
// (the counter again on Cluster), 3.. the users' indexes (single shard only). ARGV 1 kind
// (u|t), 2 count (totals), 3 resource id, 4 ranking cap, 5 index entry, 6 '1' for a set's
// first chunk (the set is replaced), 7 '1' when KEYS[2] is the ranking, 8.. users.
// Returns the count after, as a string.
const IMPORT_BODY = `${RANK_FN}
local count
if ARGV[1] == 't' then
  count = tonumber(ARGV[2])
  if count == 0 then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
else
  if ARGV[6] == '1' then redis.call('DEL', KEYS[1]) end
  if #ARGV >= 8 then redis.call('SADD', KEYS[1], unpack(ARGV, 8)) end
  for k = 3, #KEYS do redis.call('SADD', KEYS[k], ARGV[5]) end
  count = redis.call('SCARD', KEYS[1])
end
if ARGV[7] == '1' then score_all(2, ARGV[3], count, tonumber(ARGV[4]), 'set') end
return string.format('%.0f', count)
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
};

export const adminScriptsFor = (dialect: ScriptDialect): AdminScripts => scriptSetOf(dialect, BODIES);
