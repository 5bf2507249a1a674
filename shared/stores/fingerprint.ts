// What an Idempotency-Key's record is compared on, as a digest: the record says whether a
// retry is the same request without holding the request, so it holds no user_id (an erasure
// cannot find records by user, and need not). Records written before digests (`type|user|delta`)
// are still matched by the scripts and the memory store until they expire (24 h).

import { createHash } from "node:crypto";
import type { IncrementCommand, QueuedEvent } from "../domain/model.ts";

/** SHA-256 of `type|user|delta`, 32 hex digits (identifiers cannot contain "|"). */
export function requestFingerprint(command: IncrementCommand): string {
  return createHash("sha256")
    .update(`${command.type}|${command.userId}|${command.delta}`)
    .digest("hex")
    .slice(0, 32);
}

/** A rate-limit subject (`user:<id>`, `ip:<address>`) as it may appear in a store key: a digest. */
export function subjectDigest(subject: string): string {
  return createHash("sha256").update(subject).digest("hex").slice(0, 24);
}

/** A batch's fingerprint: every item, in order, with its resource (a batch spans resources). */
export function batchFingerprint(commands: readonly IncrementCommand[]): string {
  const hash = createHash("sha256");
  for (const c of commands) hash.update(`${c.resourceId}|${c.type}|${c.userId}|${c.delta}\n`);
  return hash.digest("hex").slice(0, 32);
}

/** A batch's answers as its record keeps them: `count,applied;` per item. */
export const encodeAnswers = (outcomes: readonly { count: number; applied: boolean }[]): string =>
  outcomes.map((o) => `${o.count},${o.applied ? 1 : 0};`).join("");

/** A batch record's answers, each replayed. */
export function decodeAnswers(answers: string): { count: number; applied: boolean; replayed: true }[] {
  return [...answers.matchAll(/(\d+),([01]);/g)].map((m) => ({
    count: Number(m[1]),
    applied: m[2] === "1",
    replayed: true,
  }));
}

/** Queued events' fingerprint: each event in order, its id included. */
export function eventsFingerprint(events: readonly QueuedEvent[]): string {
  const hash = createHash("sha256");
  for (const e of events) hash.update(`${e.eventId}\n${e.resourceId}|${e.type}|${e.userId}|${e.delta}\n`);
  return hash.digest("hex").slice(0, 32);
}
