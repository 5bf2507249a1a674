// What an applied change owes the other slots on Redis Cluster: the ranking shard of its
// counter and the index of its user (for erasure) live in slots of their own, so they are
// told in calls after the change's own, one per slot touched, together. The change is
// already applied: a failure here is reported aside rather than failing (and inviting a
// retry of) it. Single increments, batches, queued events and erasure all come through here.

import { INDEX, INDEX_CHANGE, RANK_CHANGE, RANK_MANY } from "./lua/cluster.ts";
import type { Parts } from "./script-kernel.ts";

/** A counter's change its ranking shard must hear of: the delta and the count after it. */
export interface RankingChange {
  type: string;
  resourceId: string;
  delta: number;
  count: number;
}

/** A user who joined (or left) a unique counter, for the user's index. */
export interface IndexChange {
  userId: string;
  type: string;
  resourceId: string;
  joined: boolean;
}

/** Indexes of `items` grouped by a key, in order; only those in `only` when given. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string, only?: readonly number[]) {
  const groups = new Map<string, number[]>();
  for (const i of only ?? items.map((_, j) => j)) {
    const k = key(items[i] as T);
    const group = groups.get(k);
    if (group) group.push(i);
    else groups.set(k, [i]);
  }
  return groups;
}

/** What the calls need of a store: its keys, scripts and exec (the admin commands have these too). */
type CallParts = Pick<Parts, "keys" | "scripts" | "exec" | "rankingKeys" | "rankingCap">;

/** The calls, one per ranking shard and one per user's index touched, sent together. */
function followUpCalls(
  p: CallParts,
  rankings: readonly RankingChange[],
  indexes: readonly IndexChange[],
  now: number,
) {
  const calls: Promise<unknown>[] = [];
  const shardOf = (c: RankingChange) => p.keys.ranking(c.type, "all", c.resourceId);
  for (const items of groupBy(rankings, shardOf).values()) {
    const first = rankings[items[0] as number] as RankingChange;
    const ranking = p.rankingKeys(first.type, now, first.resourceId);
    const call = RANK_MANY.encode(ranking.named.keys, { ...ranking.named.ttls, rankCap: p.rankingCap });
    for (const i of items) {
      const c = rankings[i] as RankingChange;
      const change = RANK_CHANGE.encode(
        {},
        { member: c.resourceId, delta: String(c.delta), count: String(c.count) },
      );
      call.args.push(...change.args);
    }
    calls.push(p.exec("ranking update", true, p.scripts.rankMany, call.keys, call.args));
  }
  for (const items of groupBy(indexes, (c) => c.userId).values()) {
    const changes = items.map((i) => indexes[i] as IndexChange);
    const args = changes.flatMap(
      (c) => INDEX_CHANGE.encode({}, { op: c.joined ? "+" : "-", entry: `${c.type}:${c.resourceId}` }).args,
    );
    const { keys } = INDEX.encode({ index: p.keys.userIndex((changes[0] as IndexChange).userId) }, {});
    calls.push(p.exec("user index update", true, p.scripts.index, keys, args));
  }
  return calls;
}

/** Tells the rankings and indexes of applied changes; failures go to onBackgroundError. */
export async function followUp(
  p: Parts,
  rankings: readonly RankingChange[],
  indexes: readonly IndexChange[],
  now: number,
): Promise<void> {
  const calls = followUpCalls(p, rankings, indexes, now);
  await Promise.all(
    calls.map((call) => call.catch((error: unknown) => p.options.onBackgroundError?.(error))),
  );
}

/** The same, failing when a call fails (erasure: the index entry goes only after its ranking). */
export async function followUpOrFail(
  p: CallParts,
  rankings: readonly RankingChange[],
  indexes: readonly IndexChange[],
  now: number,
): Promise<void> {
  await Promise.all(followUpCalls(p, rankings, indexes, now));
}
