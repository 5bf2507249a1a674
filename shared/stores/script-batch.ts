// Batches of increments over the Lua scripts: one script for the whole batch on a single
// shard (Redis, Upstash: one round trip, one billed command); on Redis Cluster one call per
// slot touched, in parallel: each resource's items, then each type's rankings and each
// user's index.

import type { IncrementCommand, IncrementOutcome, RateLimit } from "../domain/model.ts";
import { itemOf, limitArgs, outcomeOf, type Parts } from "./script-store.ts";
import { STATUS } from "./scripts.ts";

const num = (v: unknown): number => Number(v);

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

/** Groups a batch's item indexes by a key, in order. */
function groupBy(
  commands: readonly IncrementCommand[],
  key: (c: IncrementCommand) => string,
  only?: number[],
) {
  const groups = new Map<string, number[]>();
  for (const i of only ?? commands.map((_, j) => j)) {
    const k = key(commands[i] as IncrementCommand);
    const group = groups.get(k);
    if (group) group.push(i);
    else groups.set(k, [i]);
  }
  return groups;
}

/** Cluster: after the items, one call per ranking type and one per user's index, together; failures told aside. */
async function clusterFollowUps(
  p: Parts,
  commands: readonly IncrementCommand[],
  outcomes: IncrementOutcome[],
  now: number,
) {
  const applied = outcomes.flatMap((o, i) => (o.applied && !o.replayed ? [i] : []));
  const calls: Promise<unknown>[] = [];
  // One call per ranking shard touched (a type's, or a type's shard's on a sharded cluster).
  const shardOf = (c: IncrementCommand) => p.keys.ranking(c.type, "all", c.resourceId);
  for (const items of groupBy(commands, shardOf, applied).values()) {
    const first = commands[items[0] as number] as IncrementCommand;
    const ranking = p.rankingKeys(first.type, now, first.resourceId);
    const args = [...ranking.ttls, p.rankingCap];
    for (const i of items) {
      const c = commands[i] as IncrementCommand;
      args.push(c.resourceId, String(c.delta), String((outcomes[i] as IncrementOutcome).count));
    }
    calls.push(p.exec("ranking update", true, p.scripts.rankMany, ranking.keys, args));
  }
  const likes = applied.filter((i) => commands[i]?.kind === "unique");
  for (const [userId, items] of groupBy(commands, (c) => c.userId, likes)) {
    const args = items.flatMap((i) => {
      const c = commands[i] as IncrementCommand;
      return [c.delta > 0 ? "+" : "-", `${c.type}:${c.resourceId}`];
    });
    calls.push(p.exec("user index update", true, p.scripts.index, [p.keys.userIndex(userId)], args));
  }
  await Promise.all(
    calls.map((call) => call.catch((error: unknown) => p.options.onBackgroundError?.(error))),
  );
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
    await clusterFollowUps(p, commands, outcomes, now);
    return outcomes;
  };
}
