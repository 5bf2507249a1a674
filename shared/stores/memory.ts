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

/** Sets and counters of one kind, by counter key. */
function setOf(map: Map<string, Set<string>>, key: string): Set<string> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}

function counterKey(resourceId: string, type: string): string {
  return `${type}\n${resourceId}`;
}

/** The store's state and its operations, each a small method over the maps. */
class MemoryCounters {
  private readonly idempotencyTtlMs: number;
  private readonly totals = new Map<string, number>();
  // Exact distinct users where Redis keeps a HyperLogLog: the same answers at small counts.
  private readonly users = new Map<string, Set<string>>();
  private readonly members = new Map<string, Set<string>>();
  private readonly idempotency = new Map<string, IdempotencyRecord>();
  private readonly rankings = new Map<string, RankingBucket>();
  private readonly windows = new Map<string, { count: number; expiresAt: number }>();
  private lastSweep = 0;

  constructor(options: MemoryStoreOptions) {
    this.idempotencyTtlMs = options.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [key, record] of this.idempotency) if (record.expiresAt <= now) this.idempotency.delete(key);
    for (const [key, bucket] of this.rankings) if (bucket.expiresAt <= now) this.rankings.delete(key);
    for (const [key, window] of this.windows) if (window.expiresAt <= now) this.windows.delete(key);
  }

  private bucket(key: string, expiresAt: number, now: number): RankingBucket {
    let found = this.rankings.get(key);
    if (!found || found.expiresAt <= now) {
      found = { expiresAt, scores: new Map() };
      this.rankings.set(key, found);
    }
    found.expiresAt = expiresAt;
    return found;
  }

  private rank(command: IncrementCommand): void {
    const { type, resourceId, delta, now } = command;
    const all = this.bucket(`${type}\nall`, Number.POSITIVE_INFINITY, now).scores;
    const score = (all.get(resourceId) ?? 0) + delta;
    if (score <= 0) all.delete(resourceId);
    else all.set(resourceId, score);
    for (const period of WINDOW_PERIODS) {
      const b = bucketOf(period, now);
      const scores = this.bucket(`${type}\n${b.id}`, b.expiresAt, now).scores;
      scores.set(resourceId, (scores.get(resourceId) ?? 0) + delta);
    }
  }

  /** As the Redis script: nothing is counted unless every window has room. */
  private countAgainst(limits: readonly RateLimit[], now: number): void {
    const current = limits.map((l) => {
      const { index, ttlMs } = rateWindow(l, now);
      const key = `${l.subject}\n${index}`;
      const found = this.windows.get(key);
      return { l, key, ttlMs, window: found && found.expiresAt > now ? found : undefined };
    });
    for (const { l, window } of current) {
      if (window && window.count >= l.limit) throw new RateLimitedError(l, window.expiresAt - now);
    }
    for (const { key, ttlMs, window } of current) {
      if (window) window.count++;
      else this.windows.set(key, { count: 1, expiresAt: now + ttlMs });
    }
  }

  /** Applies the change to the counter: its count after, and whether anything changed. */
  private apply(command: IncrementCommand): { count: number; applied: boolean } {
    const { resourceId, type, kind, userId, delta } = command;
    const key = counterKey(resourceId, type);
    if (kind === "unique") {
      const set = setOf(this.members, key);
      const had = set.has(userId);
      if (delta > 0) set.add(userId);
      else set.delete(userId);
      if (set.size === 0) this.members.delete(key);
      return { count: set.size, applied: delta > 0 ? !had : had };
    }
    const count = (this.totals.get(key) ?? 0) + delta;
    this.totals.set(key, count);
    setOf(this.users, key).add(userId);
    return { count, applied: true };
  }

  async increment(command: IncrementCommand): Promise<IncrementOutcome> {
    const { resourceId, idempotencyKey, now } = command;
    this.sweep(now);
    const recordKey = idempotencyKey === undefined ? undefined : `${resourceId}\n${idempotencyKey}`;
    const fingerprint = requestFingerprint(command);
    const record = recordKey === undefined ? undefined : this.idempotency.get(recordKey);
    if (record && record.expiresAt > now) {
      if (record.fingerprint !== fingerprint) throw new IdempotencyConflictError();
      return { count: record.count, applied: record.applied, replayed: true };
    }
    this.countAgainst(command.limits ?? [], now);
    const { count, applied } = this.apply(command);
    if (recordKey !== undefined) {
      this.idempotency.set(recordKey, {
        fingerprint,
        count,
        applied,
        expiresAt: now + this.idempotencyTtlMs,
      });
    }
    if (applied) this.rank(command);
    return { count, applied, replayed: false };
  }

  async read(queries: readonly CounterQuery[]): Promise<CounterReading[]> {
    return queries.map((q) => {
      const key = counterKey(q.resourceId, q.type);
      if (q.kind === "unique") {
        const set = this.members.get(key);
        const reading: CounterReading = { count: set?.size ?? 0 };
        if (q.detail && q.userId !== undefined) reading.member = set?.has(q.userId) ?? false;
        return reading;
      }
      const reading: CounterReading = { count: this.totals.get(key) ?? 0 };
      if (q.detail) reading.uniqueUsers = this.users.get(key)?.size ?? 0;
      return reading;
    });
  }

  async ranking(query: RankingQuery): Promise<RankedItem[]> {
    const id = query.period === "all" ? "all" : bucketOf(query.period, query.now).id;
    const found = this.rankings.get(`${query.type}\n${id}`);
    if (!found || found.expiresAt <= query.now) return [];
    const items: RankedItem[] = [];
    for (const [resourceId, count] of found.scores) if (count > 0) items.push({ resourceId, count });
    return items.sort(compareRanked).slice(0, query.limit);
  }

  async limit(limits: readonly RateLimit[], now: number): Promise<void> {
    this.sweep(now);
    this.countAgainst(limits, now);
  }
}

/** The store port over the counters, as the Redis and Upstash stores give it. */
export function createMemoryStore(options: MemoryStoreOptions = {}): CounterStore {
  const counters = new MemoryCounters(options);
  return {
    name: "memory",
    increment: (command) => counters.increment(command),
    read: (queries) => counters.read(queries),
    ranking: (query) => counters.ranking(query),
    limit: (limits, now) => counters.limit(limits, now),
    ping: async () => {},
    close: async () => {},
  };
}
