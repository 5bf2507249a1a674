// The per-day history update every write script shares (HISTORY_FN).

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
