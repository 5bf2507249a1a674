// Batches of increments over the Lua scripts: one script for the whole batch on a single
// shard (Redis, Upstash: one round trip, one billed command, one record for a keyed batch);
// on Redis Cluster one call per slot touched, in parallel: each resource's items (with that
// resource's record of a keyed batch), then each ranking shard's and each user's index
// (cluster-calls.ts), and the request's own record checked first and written last.

import { IdempotencyConflictError } from "../domain/errors.ts";
import type { IncrementCommand, IncrementOutcome, RateLimit } from "../domain/model.ts";
import { followUp, groupBy } from "./cluster-calls.ts";
import { batchFingerprint, decodeAnswers, encodeAnswers } from "./fingerprint.ts";
import { BATCH_RECORD, MANY } from "./lua/batch.ts";
import { ITEM } from "./lua/increment.ts";
import { itemOf, limitArgs, num, outcomeOf, type Parts } from "./script-kernel.ts";
import { STATUS } from "./scripts.ts";

/** The reply of INCREMENT_MANY_BODY: outcomes, or the error of the item it names (0: the request). */
function outcomesOf(reply: unknown[], limits: readonly RateLimit[], items: number[]): IncrementOutcome[] {
  const status = num(reply[0]);
  if (status === STATUS.KEY_REUSED || status === STATUS.COUNT_LIMIT) {
    outcomeOf([0, 0, status], limits, items[num(reply[1]) - 1]);
  }
  if (reply.length === 6 && num(reply[2]) === STATUS.RATE_LIMITED) outcomeOf(reply, limits);
  return items.map((_, i) => outcomeOf([reply[1 + 3 * i], reply[2 + 3 * i], reply[3 + 3 * i]], limits));
}

/** A keyed batch: its key and its fingerprint. */
interface Keyed {
  key: string;
  fingerprint: string;
}

/** Some of a batch's items (indexes into it) in one script call, with its record and the limits if given. */
async function sendItems(
  p: Parts,
  commands: readonly IncrementCommand[],
  items: number[],
  call: { limits: readonly RateLimit[]; now: number; keyed?: Keyed; record: string },
): Promise<IncrementOutcome[]> {
  const keys: string[] = [];
  const { keyed, limits, now } = call;
  // On a cluster an item's keys stop before its rankings (another slot's), as itemOf sends them.
  const keysPerItem = p.options.cluster ? ITEM.keysBefore("rankAll") : ITEM.keyCount;
  const own = MANY.encode(
    { record: call.record },
    {
      items: String(items.length),
      keysPerItem: String(keysPerItem),
      fingerprint: keyed?.fingerprint ?? "",
      recordTtl: p.idempotencyTtl,
    },
  );
  const args = own.args;
  for (const i of items) {
    const command = commands[i] as IncrementCommand;
    // A 0.1.0 batch's record of this item, checked (never written): `<key>#<index>`.
    const legacy = keyed === undefined ? {} : { idempotencyKey: `${keyed.key}#${i}` };
    const item = itemOf(p, { ...command, ...legacy }, "0");
    keys.push(...item.keys);
    args.push(...item.args);
  }
  keys.push(...own.keys); // the request's record, after the items' keys
  if (limits.length > 0) {
    const windows = limitArgs(p.keys, limits, now);
    keys.push(...windows.keys);
    args.push(...windows.args);
  }
  const reply = (await p.exec("increments", true, p.scripts.incrementMany, keys, args)) as unknown[];
  return outcomesOf(reply, limits, items);
}

/** A record on its own (Cluster): this request's answers, undefined when none; throws for another request's. */
async function readRecord(p: Parts, record: string, keyed: Keyed): Promise<IncrementOutcome[] | undefined> {
  const read = BATCH_RECORD.encode({ record }, { fingerprint: keyed.fingerprint, answers: "", ttl: "" });
  const reply = (await p.exec(
    "batch record",
    false,
    p.scripts.batchRecord,
    read.keys,
    read.args,
  )) as unknown[];
  if (num(reply[0]) === STATUS.KEY_REUSED) throw new IdempotencyConflictError();
  return num(reply[0]) === 1 ? decodeAnswers(String(reply[1])) : undefined;
}

/** Cluster: each resource's items in its own call, together, and the rankings and indexes after. */
async function sendGroups(
  p: Parts,
  commands: readonly IncrementCommand[],
  now: number,
  keyed: Keyed | undefined,
): Promise<IncrementOutcome[]> {
  const groups = [...groupBy(commands, (c) => c.resourceId).entries()];
  const recordOf = (resourceId: string) =>
    keyed ? p.keys.batchRecord(keyed.key, resourceId) : p.keys.counter(resourceId, "", false);
  // A key reused with another request is refused before any group applies.
  if (keyed) await Promise.all(groups.map(([resourceId]) => readRecord(p, recordOf(resourceId), keyed)));
  const outcomes: IncrementOutcome[] = new Array(commands.length);
  await Promise.all(
    groups.map(async ([resourceId, items]) => {
      const call = { limits: [], now, record: recordOf(resourceId), ...(keyed ? { keyed } : {}) };
      const got = await sendItems(p, commands, items, call);
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
}

export function batchIncrementer(
  p: Parts,
  limit: (limits: readonly RateLimit[], now: number) => Promise<void>,
) {
  return async (
    commands: readonly IncrementCommand[],
    limits: readonly RateLimit[],
    now: number,
    idempotencyKey?: string,
  ): Promise<IncrementOutcome[]> => {
    const first = commands[0];
    if (!first) return [];
    const keyed =
      idempotencyKey === undefined
        ? undefined
        : { key: idempotencyKey, fingerprint: batchFingerprint(commands) };
    const items = commands.map((_, i) => i);
    if (!p.options.cluster) {
      // Unkeyed, the record's place holds the first counter's key (same slot, never read).
      const record = keyed
        ? p.keys.batchRecord(keyed.key)
        : p.keys.counter(first.resourceId, first.type, false);
      return sendItems(p, commands, items, { limits, now, record, ...(keyed ? { keyed } : {}) });
    }
    // Cluster: a retry of a whole batch is answered from the request's record.
    const record = keyed && p.keys.batchRecord(keyed.key);
    const replay = keyed && record ? await readRecord(p, record, keyed) : undefined;
    if (replay) return replay;
    await limit(limits, now); // the windows are in other slots: checked first
    const outcomes = await sendGroups(p, commands, now, keyed);
    if (keyed && record) {
      const write = BATCH_RECORD.encode(
        { record },
        { fingerprint: keyed.fingerprint, answers: encodeAnswers(outcomes), ttl: p.idempotencyTtl },
      );
      await p.exec("batch record", true, p.scripts.batchRecord, write.keys, write.args);
    }
    return outcomes;
  };
}
