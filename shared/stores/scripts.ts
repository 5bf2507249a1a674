// The Lua scripts shared by the Redis (ioredis) and Upstash (REST) stores, composed from their
// modules (lua/: each script family declares its keys and arguments by name, key-layout.ts the
// keys). Only the first line differs: Upstash needs `allow-key-locking` (else a script takes
// a database-wide lock), a flag open-source Redis 7 rejects.

import { createHash } from "node:crypto";
import { BATCH_RECORD_BODY, INCREMENT_MANY_BODY } from "./lua/batch.ts";
import { INDEX_BODY, RANK_MANY_BODY } from "./lua/cluster.ts";
import {
  CLAIM_BODY,
  EVENTS_BODY,
  QUEUE_LENGTH_BODY,
  QUEUE_PEEK_BODY,
  QUEUE_PUSH_BODY,
  QUEUE_REMOVE_BODY,
} from "./lua/events.ts";
import { INCREMENT_BODY } from "./lua/increment.ts";
import { LIMIT_BODY } from "./lua/limits.ts";
import { RANKING_BODY, WEEK_BODY, WEEK_READ_BODY } from "./lua/ranking.ts";
import { HISTORY_BODY, READ_BODY } from "./lua/reads.ts";
import { FORMAT_READ_BODY, FORMAT_RECORD_BODY, PROBE_BODY } from "./lua/service.ts";

/**
 * The status the increment, batch, limit and events scripts answer with (the third element
 * of {count, applied, status}, or the first of a batch's reply): one name per code.
 */
export const STATUS = { NEW: 0, REPLAYED: 1, KEY_REUSED: 2, RATE_LIMITED: 3, COUNT_LIMIT: 4 } as const;

export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

export interface ScriptSet {
  increment: LuaScript;
  incrementMany: LuaScript;
  batchRecord: LuaScript;
  claim: LuaScript;
  limit: LuaScript;
  rankMany: LuaScript;
  index: LuaScript;
  /** Reads with unique users ('T' queries): a writer, because of PFCOUNT. */
  readWithUsers: LuaScript;
  /** Reads without 'T' queries: no-writes. */
  read: LuaScript;
  ranking: LuaScript;
  /** The week's sum of days, made and kept a minute: a writer. */
  week: LuaScript;
  /** The same, for a store that refuses writes: no-writes. */
  weekRead: LuaScript;
  history: LuaScript;
  probe: LuaScript;
  formatRead: LuaScript;
  formatRecord: LuaScript;
  events: LuaScript;
  queuePush: LuaScript;
  queuePeek: LuaScript;
  queueRemove: LuaScript;
  queueLength: LuaScript;
}

export type ScriptDialect = "redis" | "upstash";

export function script(source: string): LuaScript {
  return { source, sha1: createHash("sha1").update(source).digest("hex") };
}

/** The first line of a script that writes, and of one that does not, in a dialect. */
export function headersOf(dialect: ScriptDialect): { write: string; readOnly: string } {
  return dialect === "upstash"
    ? { write: "#!lua flags=allow-key-locking\n", readOnly: "#!lua flags=no-writes,allow-key-locking\n" }
    : { write: "#!lua\n", readOnly: "#!lua flags=no-writes\n" };
}

/** Whether a script writes, and its body: what a dialect's header is put before. */
export type ScriptBodies<K extends string> = Record<K, readonly ["write" | "readOnly", string]>;

/** A dialect's scripts from their bodies, each under the header its kind takes. */
export function scriptSetOf<K extends string>(
  dialect: ScriptDialect,
  bodies: ScriptBodies<K>,
): Record<K, LuaScript> {
  const headers = headersOf(dialect);
  const set = {} as Record<K, LuaScript>;
  for (const name in bodies) {
    const [kind, body] = bodies[name];
    set[name] = script(headers[kind] + body);
  }
  return set;
}

const BODIES: ScriptBodies<keyof ScriptSet> = {
  increment: ["write", INCREMENT_BODY],
  incrementMany: ["write", INCREMENT_MANY_BODY],
  batchRecord: ["write", BATCH_RECORD_BODY],
  claim: ["write", CLAIM_BODY],
  limit: ["write", LIMIT_BODY],
  rankMany: ["write", RANK_MANY_BODY],
  index: ["write", INDEX_BODY],
  readWithUsers: ["write", READ_BODY],
  read: ["readOnly", READ_BODY],
  ranking: ["readOnly", RANKING_BODY],
  week: ["write", WEEK_BODY],
  weekRead: ["readOnly", WEEK_READ_BODY],
  history: ["readOnly", HISTORY_BODY],
  probe: ["write", PROBE_BODY],
  formatRead: ["readOnly", FORMAT_READ_BODY],
  formatRecord: ["write", FORMAT_RECORD_BODY],
  events: ["write", EVENTS_BODY],
  queuePush: ["write", QUEUE_PUSH_BODY],
  queuePeek: ["readOnly", QUEUE_PEEK_BODY],
  queueRemove: ["write", QUEUE_REMOVE_BODY],
  queueLength: ["readOnly", QUEUE_LENGTH_BODY],
};

export const scriptsFor = (dialect: ScriptDialect): ScriptSet => scriptSetOf(dialect, BODIES);
