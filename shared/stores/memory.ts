// The embedded store: the same semantics as the Redis scripts, in process memory. Each
// call runs to completion before the next starts, which makes it atomic. Ranking buckets
// and idempotency records expire on the command's clock, so memory stays bounded.

import { bucketOf, WINDOW_PERIODS } from "../domain/buckets.ts";
import { IdempotencyConflictError, RateLimitedError } from "../domain/errors.ts";
import {
  type CounterQuery,
  type CounterReading,
  type CounterStore,
  compareRanked,
  IDEMPOTENCY_TTL_MS,
  type IncrementCommand,
  type IncrementOutcome,
  type RankedItem,
  type RankingQuery,
  type RateLimit,
  rateWindow,
  requestFingerprint,
} from "../domain/model.ts";

interface IdempotencyRecord {
  fingerprint: string;
  count: number;
  applied: boolean;
  expiresAt: number;
}

interface RankingBucket {
  expiresAt: number;
  scores: Map<string, number>;
}

const SWEEP_EVERY_MS = 60_000;

export interface MemoryStoreOptions {
  /** How long an Idempotency-Key is remembered. Default 24 h. */
  idempotencyTtlMs?: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): CounterStore {
  const idempotencyTtlMs = options.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS;
  const totals = new Map<string, number>();
  // Exact distinct users where Redis keeps a HyperLogLog: the same answers at small counts.
  const users = new Map<string, Set<string>>();
  const members = new Map<string, Set<string>>();
  const idempotency = new Map<string, IdempotencyRecord>();
  const rankings = new Map<string, RankingBucket>();
  const windows = new Map<string, { count: number; expiresAt: number }>();
  let lastSweep = 0;

  const counterKey = (resourceId: string, type: string) => `${type}\n${resourceId}`;

  function sweep(now: number): void {
    if (now - lastSweep < SWEEP_EVERY_MS) return;
    lastSweep = now;
    for (const [key, record] of idempotency) if (record.expiresAt <= now) idempotency.delete(key);
    for (const [key, bucket] of rankings) if (bucket.expiresAt <= now) rankings.delete(key);
    for (const [key, window] of windows) if (window.expiresAt <= now) windows.delete(key);
  }

  function bucket(key: string, expiresAt: number, now: number): RankingBucket {
    let found = rankings.get(key);
    if (!found || found.expiresAt <= now) {
      found = { expiresAt, scores: new Map() };
      rankings.set(key, found);
    }
    found.expiresAt = expiresAt;
    return found;
  }

  function rank(command: IncrementCommand): void {
    const { type, resourceId, delta, now } = command;
    const all = bucket(`${type}\nall`, Number.POSITIVE_INFINITY, now).scores;
    const score = (all.get(resourceId) ?? 0) + delta;
    if (score <= 0) all.delete(resourceId);
    else all.set(resourceId, score);
    for (const period of WINDOW_PERIODS) {
      const b = bucketOf(period, now);
      const scores = bucket(`${type}\n${b.id}`, b.expiresAt, now).scores;
      scores.set(resourceId, (scores.get(resourceId) ?? 0) + delta);
    }
  }

  /** As the Redis script: nothing is counted unless every window has room. */
  function countAgainst(limits: readonly RateLimit[], now: number): void {
    const current = limits.map((l) => {
      const { index, ttlMs } = rateWindow(l, now);
      const key = `${l.subject}\n${index}`;
      const found = windows.get(key);
      return { l, key, ttlMs, window: found && found.expiresAt > now ? found : undefined };
    });
    for (const { l, window } of current) {
      if (window && window.count >= l.limit) throw new RateLimitedError(l, window.expiresAt - now);
    }
    for (const { key, ttlMs, window } of current) {
      if (window) window.count++;
      else windows.set(key, { count: 1, expiresAt: now + ttlMs });
    }
  }

  async function increment(command: IncrementCommand): Promise<IncrementOutcome> {
    const { resourceId, type, kind, userId, delta, idempotencyKey, now } = command;
    sweep(now);
    const recordKey = idempotencyKey === undefined ? undefined : `${resourceId}\n${idempotencyKey}`;
    const fingerprint = requestFingerprint(command);
    if (recordKey !== undefined) {
      const record = idempotency.get(recordKey);
      if (record && record.expiresAt > now) {
        if (record.fingerprint !== fingerprint) throw new IdempotencyConflictError();
        return { count: record.count, applied: record.applied, replayed: true };
      }
    }
    countAgainst(command.limits ?? [], now);
    const key = counterKey(resourceId, type);
    let count: number;
    let applied = true;
    if (kind === "unique") {
      let set = members.get(key);
      if (!set) {
        set = new Set();
        members.set(key, set);
      }
      const had = set.has(userId);
      applied = delta > 0 ? !had : had;
      if (delta > 0) set.add(userId);
      else set.delete(userId);
      if (set.size === 0) members.delete(key);
      count = set.size;
    } else {
      count = (totals.get(key) ?? 0) + delta;
      totals.set(key, count);
      let seen = users.get(key);
      if (!seen) {
        seen = new Set();
        users.set(key, seen);
      }
      seen.add(userId);
    }
    if (recordKey !== undefined) {
      idempotency.set(recordKey, { fingerprint, count, applied, expiresAt: now + idempotencyTtlMs });
    }
    if (applied) rank(command);
    return { count, applied, replayed: false };
  }

  async function read(queries: readonly CounterQuery[]): Promise<CounterReading[]> {
    return queries.map((q) => {
      const key = counterKey(q.resourceId, q.type);
      if (q.kind === "unique") {
        const set = members.get(key);
        const reading: CounterReading = { count: set?.size ?? 0 };
        if (q.detail && q.userId !== undefined) reading.member = set?.has(q.userId) ?? false;
        return reading;
      }
      const reading: CounterReading = { count: totals.get(key) ?? 0 };
      if (q.detail) reading.uniqueUsers = users.get(key)?.size ?? 0;
      return reading;
    });
  }

  async function ranking(query: RankingQuery): Promise<RankedItem[]> {
    const id = query.period === "all" ? "all" : bucketOf(query.period, query.now).id;
    const found = rankings.get(`${query.type}\n${id}`);
    if (!found || found.expiresAt <= query.now) return [];
    const items: RankedItem[] = [];
    for (const [resourceId, count] of found.scores) if (count > 0) items.push({ resourceId, count });
    return items.sort(compareRanked).slice(0, query.limit);
  }

  return {
    name: "memory",
    increment,
    read,
    ranking,
    async limit(limits, now) {
      sweep(now);
      countAgainst(limits, now);
    },
    async ping() {},
    async close() {},
  };
}
