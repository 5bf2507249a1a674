// What an Idempotency-Key's record is compared on, as a digest: the record says whether a
// retry is the same request without holding the request, so it holds no user_id (an erasure
// cannot find records by user, and need not). Records written before digests (`type|user|delta`)
// are still matched by the scripts and the memory store until they expire (24 h).

import { createHash } from "node:crypto";
import type { IncrementCommand } from "../domain/model.ts";

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
