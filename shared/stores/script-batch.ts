// Batches of increments over the Lua scripts: one script for the whole batch on a single
// shard (Redis, Upstash: one round trip, one billed command); on Redis Cluster one call per
// slot touched, in parallel: each resource's items, then each ranking shard's and each
// user's index (cluster-calls.ts).

import type { IncrementCommand, IncrementOutcome, RateLimit } from "../domain/model.ts";
import { followUp, groupBy } from "./cluster-calls.ts";
import { itemOf, limitArgs, num, outcomeOf, type Parts } from "./script-store.ts";
import { STATUS } from "./scripts.ts";

/** The reply of INCREMENT_MANY_BODY: outcomes, or the error of the item it names. */
function outcomesOf(reply: unknown[], limits: readonly RateLimit[], items: number[]): IncrementOutcome[] {
  const status = num(reply[0]);
  if (status === STATUS.KEY_REUSED || status === STATUS.COUNT_LIMIT) {
    outcomeOf([0, 0, status], limits, items[num(reply[1]) - 1]);
  }
  if (reply.length === 6 && num(reply[2]) === STATUS.RATE_LIMITED) outcomeOf(reply, limits);
  return items.map((_, i) => outcomeOf([reply[1 + 3 * i], reply[2 + 3 * i], reply[3 + 3 * i]], limits));
}

/** Some of a batch's items (indexes into it) in one script call, with the limits if given. */
async function sendItems(
  p: Parts,
  commands: readonly IncrementCommand[],
  items: number[],
  limits: readonly RateLimit[],
  now: number,
): Promise<IncrementOutcome[]> {
  const keys: string[] = [];
  const args = [String(items.length), p.options.cluster ? "4" : "8"];
  for (const i of items) {
    const item = itemOf(p, commands[i] as IncrementCommand);
    keys.push(...item.keys);
    args.push(...item.args);
  }
  if (limits.length > 0) {
    const windows = limitArgs(p.keys, limits, now);
    keys.push(...windows.keys);
    args.push(...windows.args);
  }
  const reply = (await p.exec("increments", true, p.scripts.incrementMany, keys, args)) as unknown[];
  return outcomesOf(reply, limits, items);
}

export function batchIncrementer(
  p: Parts,
  limit: (limits: readonly RateLimit[], now: number) => Promise<void>,
) {
  return async (
    commands: readonly IncrementCommand[],
    limits: readonly RateLimit[],
    now: number,
  ): Promise<IncrementOutcome[]> => {
    if (commands.length === 0) return [];
    if (!p.options.cluster)
      return sendItems(
        p,
        commands,
        commands.map((_, i) => i),
        limits,
        now,
      );
    // Cluster: the windows are in other slots (checked first), then each resource's items.
    await limit(limits, now);
    const outcomes: IncrementOutcome[] = new Array(commands.length);
    const groups = [...groupBy(commands, (c) => c.resourceId).values()];
    await Promise.all(
      groups.map(async (items) => {
        const got = await sendItems(p, commands, items, [], now);
        items.forEach((i, j) => {
          outcomes[i] = got[j] as IncrementOutcome;
        });
      }),
    );
    const applied = outcomes.flatMap((o, i) =>
      o.applied && !o.replayed ? [{ ...(commands[i] as IncrementCommand), count: o.count }] : [],
    );
    const joined = applied
      .filter((c) => c.kind === "unique")
      .map((c) => ({ userId: c.userId, type: c.type, resourceId: c.resourceId, joined: c.delta > 0 }));
    await followUp(p, applied, joined, now);
    return outcomes;
  };
}
