// Batches of increments: the batch's own keys and arguments by name (MANY), its script, and a
// keyed batch's record on its own (Redis Cluster).

import { layout } from "../script-layout.ts";
import { APPLY_FN, ITEM } from "./increment.ts";
import { LIMIT_FN } from "./limits.ts";

const K = ITEM.key;
const A = ITEM.arg;

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
export const INCREMENT_MANY_BODY = `${APPLY_FN}${LIMIT_FN}
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
export const BATCH_RECORD_BODY = `
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
