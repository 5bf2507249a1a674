// Redis Cluster's follow-up calls: a user's index and a ranking shard, each in its own slot.

import { layout } from "../script-layout.ts";
import { BUCKET_TTL_NAMES, RANK_FN, RANKING_KEY_NAMES, rankingArgs } from "./ranking-fn.ts";

// Redis Cluster's call to a user's index (another slot than the counter): KEYS 1 the index,
// ARGV pairs of '+' (add) or '-' (remove) and an entry (`type:resource`), in order.
export const INDEX = layout({ keys: "", args: "" }, { keys: ["index"], args: [] });
/** One change of a user's index, from the Lua offset `c`: '+' (add) or '-' (remove), and the entry. */
export const INDEX_CHANGE = layout({ keys: "", args: "c" }, { keys: [], args: ["op", "entry"] });
export const INDEX_BODY = `
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
export const RANK_MANY_BODY = `${RANK_FN}
local cap = tonumber(${RANK_MANY.arg.rankCap})
for c = ${RANK_MANY.argCount}, #ARGV - 1, ${RANK_CHANGE.argCount} do
  rank(${rankingArgs(RANK_MANY, RANK_MANY)}, ${RC.member}, tonumber(${RC.delta}), tonumber(${RC.count}), cap, 'gt')
end
return 1
`;
