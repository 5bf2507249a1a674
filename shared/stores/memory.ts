// The embedded store: the same semantics as the Redis scripts, in process memory. Each
// call runs to completion before the next starts, which makes it atomic. Ranking buckets,
// idempotency records and rate-limit windows expire on the command's clock, and each is
// capped besides, so a flood of distinct keys cannot grow the process without limit.

import { bucketOf, daysOfWeek, WRITTEN_PERIODS } from "../domain/buckets.ts";
import { CURRENT_DATA_FORMAT } from "../domain/data-format.ts";
import { CountLimitError, IdempotencyConflictError, RateLimitedError } from "../domain/errors.ts";
import {
  type CounterHistory,
  DEFAULT_HISTORY_DAYS,
  type HistoryQuery,
  historyOf,
} from "../domain/history.ts";
import {
  type CounterKey,
  type CounterQuery,
  type CounterReading,
  type CounterRecord,
  type CounterStore,
  compareRanked,
  DEFAULT_RANKING_MAX_MEMBERS,
  EVENT_DEDUPE_TTL_MS,
  IDEMPOTENCY_TTL_MS,
  type IncrementCommand,
  type IncrementOutcome,
  type LocalEventQueue,
  MAX_EXACT_COUNT,
  type QueuedEvent,
  type RankedItem,
  type RankingQuery,
  type RateLimit,
  rateWindow,
} from "../domain/model.ts";
import {
  batchFingerprint,
  decodeAnswers,
  encodeAnswers,
  eventsFingerprint,
  requestFingerprint,
} from "./fingerprint.ts";
import { MemoryChanges } from "./memory-changes.ts";
import { DayHistories } from "./memory-history.ts";

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

/** Idempotency records, and rate-limit windows, kept at most: the oldest go first. */
export const DEFAULT_MAX_RECORDS = 100_000;

export interface MemoryStoreOptions {
  /** How long an Idempotency-Key is remembered. Default 24 h. */
  idempotencyTtlMs?: number;
  /** Members each ranking keeps, the lowest trimmed. Default 10,000. */
  rankingMaxMembers?: number;
  /** Idempotency records and rate-limit windows kept at most, each. Default 100,000. */
  maxRecords?: number;
  /** Days of history each counter keeps. Default 400. */
  historyDays?: number;
}

/** Sets a record and, past the cap, evicts the oldest (a Map iterates in insertion order). */
function setCapped<V>(map: Map<string, V>, key: string, value: V, cap: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size <= cap) return;
  const oldest = map.keys().next();
  if (!oldest.done) map.delete(oldest.value);
}

/** As ZREMRANGEBYRANK 0 0: drops the lowest score, the smallest member among ties. */
function trimLowest(scores: Map<string, number>, cap: number): void {
  while (scores.size > cap) {
    let lowest: [string, number] | undefined;
    for (const entry of scores) {
      if (!lowest || entry[1] < lowest[1] || (entry[1] === lowest[1] && entry[0] < lowest[0])) lowest = entry;
    }
    if (lowest) scores.delete(lowest[0]);
  }
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
export class MemoryStore implements CounterStore {
  readonly name = "memory" as const;
  private readonly idempotencyTtlMs: number;
  private readonly rankingCap: number;
  private readonly maxRecords: number;
  private readonly totals = new Map<string, number>();
  // Exact distinct users where Redis keeps a HyperLogLog: the same answers at small counts.
  private readonly users = new Map<string, Set<string>>();
  private readonly members = new Map<string, Set<string>>();
  private readonly idempotency = new Map<string, IdempotencyRecord>();
  /** A keyed batch's one record: its fingerprint and every item's answer. */
  private readonly batches = new Map<string, { fingerprint: string; answers: string; expiresAt: number }>();
  private readonly rankings = new Map<string, RankingBucket>();
  private readonly windows = new Map<string, { count: number; expiresAt: number }>();
  /** Event ids applied, by counter and id, with when they may be forgotten (capped as records are). */
  private readonly eventIds = new Map<string, number>();
  /** The unique counters each user is in, for erasure. */
  private readonly userIndex = new Map<string, Set<string>>();
  private readonly histories: DayHistories;
  /** Every write announces the counter's new count here (live counts). */
  readonly changes = new MemoryChanges();
  private lastSweep = 0;

  constructor(options: MemoryStoreOptions) {
    this.idempotencyTtlMs = options.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS;
    this.rankingCap = options.rankingMaxMembers ?? DEFAULT_RANKING_MAX_MEMBERS;
    this.maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
    this.histories = new DayHistories(options.historyDays ?? DEFAULT_HISTORY_DAYS);
  }

  /** Records held now, for tests of the caps. */
  get recordCounts(): { idempotency: number; windows: number } {
    return { idempotency: this.idempotency.size + this.batches.size, windows: this.windows.size };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [key, record] of this.idempotency) if (record.expiresAt <= now) this.idempotency.delete(key);
    for (const [key, record] of this.batches) if (record.expiresAt <= now) this.batches.delete(key);
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

  /** As the Redis script: the all-time score is the count itself, buckets add the delta. */
  private rank(command: IncrementCommand, count: number): void {
    const { type, resourceId, delta, now } = command;
    const all = this.bucket(`${type}\nall`, Number.POSITIVE_INFINITY, now).scores;
    if (count <= 0) all.delete(resourceId);
    else all.set(resourceId, count);
    trimLowest(all, this.rankingCap);
    for (const period of WRITTEN_PERIODS) {
      const b = bucketOf(period, now);
      const scores = this.bucket(`${type}\n${b.id}`, b.expiresAt, now).scores;
      scores.set(resourceId, (scores.get(resourceId) ?? 0) + delta);
      trimLowest(scores, this.rankingCap);
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
    for (const { l, ttlMs, window } of current) {
      // Weight 0 checks for room for one more without using it.
      if ((window?.count ?? 0) + Math.max(1, l.weight ?? 1) > l.limit) {
        throw new RateLimitedError(l, window ? window.expiresAt - now : ttlMs);
      }
    }
    for (const { l, key, ttlMs, window } of current) {
      if (l.weight === 0) continue;
      if (window) window.count += l.weight ?? 1;
      else setCapped(this.windows, key, { count: l.weight ?? 1, expiresAt: now + ttlMs }, this.maxRecords);
    }
  }

  /** Adds a user to a unique counter and to the user's index. */
  private join(set: Set<string>, key: string, userId: string): void {
    set.add(userId);
    setOf(this.userIndex, userId).add(key);
  }

  /** Removes a user from a unique counter and its index entry; an empty set goes. */
  private leave(set: Set<string>, key: string, userId: string): void {
    set.delete(userId);
    if (set.size === 0) this.members.delete(key);
    const index = this.userIndex.get(userId);
    index?.delete(key);
    if (index?.size === 0) this.userIndex.delete(userId);
  }

  /**
   * Applies the change to the counter and, when it changed, to the history of the day of
   * `at` (default: now) and (unless `announced` is false) the change feed: its count after,
   * and whether anything changed.
   */
  private apply(
    command: IncrementCommand,
    at = command.now,
    announced = true,
  ): { count: number; applied: boolean } {
    const { resourceId, type, kind, userId, delta } = command;
    const key = counterKey(resourceId, type);
    if (kind === "unique") {
      const set = setOf(this.members, key);
      const had = set.has(userId);
      if (delta > 0) this.join(set, key, userId);
      else this.leave(set, key, userId);
      const applied = delta > 0 ? !had : had;
      if (applied) {
        this.histories.record(key, delta, at, command.now);
        if (announced) this.changes.announce({ resourceId, type, kind, count: set.size });
      }
      return { count: set.size, applied };
    }
    const count = (this.totals.get(key) ?? 0) + delta;
    if (count > MAX_EXACT_COUNT) throw new CountLimitError(MAX_EXACT_COUNT);
    this.totals.set(key, count);
    setOf(this.users, key).add(userId);
    this.histories.record(key, delta, at, command.now);
    if (announced) this.changes.announce({ resourceId, type, kind, count });
    return { count, applied: true };
  }

  /** The answer an Idempotency-Key already has, or undefined; throws for a key reused with another request. */
  private replayOf(command: IncrementCommand, index?: number): IncrementOutcome | undefined {
    const { resourceId, idempotencyKey, now } = command;
    if (idempotencyKey === undefined) return undefined;
    const record = this.idempotency.get(`${resourceId}\n${idempotencyKey}`);
    if (!record || record.expiresAt <= now) return undefined;
    if (record.fingerprint !== requestFingerprint(command)) throw new IdempotencyConflictError(index);
    return { count: record.count, applied: record.applied, replayed: true };
  }

  /** Applies a checked increment, records its answer under its key, and ranks it. */
  private applyAndRecord(command: IncrementCommand): IncrementOutcome {
    const { count, applied } = this.apply(command);
    if (command.idempotencyKey !== undefined) {
      const record = {
        fingerprint: requestFingerprint(command),
        count,
        applied,
        expiresAt: command.now + this.idempotencyTtlMs,
      };
      setCapped(
        this.idempotency,
        `${command.resourceId}\n${command.idempotencyKey}`,
        record,
        this.maxRecords,
      );
    }
    if (applied) this.rank(command, count);
    return { count, applied, replayed: false };
  }

  async increment(command: IncrementCommand): Promise<IncrementOutcome> {
    this.sweep(command.now);
    const replay = this.replayOf(command);
    if (replay) return replay;
    this.countAgainst(command.limits ?? [], command.now);
    return this.applyAndRecord(command);
  }

  /** As the events script: new ids found and a total's sum checked first, then applied in order, coalesced. */
  async applyEvents(events: readonly QueuedEvent[], now: number): Promise<number> {
    const first = events[0];
    if (!first) return 0;
    const key = counterKey(first.resourceId, first.type);
    const seen = new Set<string>();
    const fresh = events.filter((e) => {
      const expires = this.eventIds.get(`${key}\n${e.eventId}`);
      if (seen.has(e.eventId) || (expires !== undefined && expires > now)) return false;
      seen.add(e.eventId);
      return true;
    });
    const sum = fresh.reduce((total, e) => total + e.delta, 0);
    if (first.kind === "total" && (this.totals.get(key) ?? 0) + sum > MAX_EXACT_COUNT) {
      throw new CountLimitError(MAX_EXACT_COUNT);
    }
    let net = 0;
    for (const e of fresh) {
      setCapped(this.eventIds, `${key}\n${e.eventId}`, now + EVENT_DEDUPE_TTL_MS, this.maxRecords);
      if (this.apply({ ...e, now }, e.acceptedAt ?? now, false).applied) net += e.delta;
    }
    const count = first.kind === "unique" ? (this.members.get(key)?.size ?? 0) : (this.totals.get(key) ?? 0);
    // Announced once for the call, as the events script does.
    if (net !== 0) {
      this.rank({ ...first, delta: net, now }, count);
      this.announceCount(first, count);
    }
    return fresh.length;
  }

  /** As the batch script: every item checked (keys, counts, limits), then the new ones applied in order. */
  async incrementMany(
    commands: readonly IncrementCommand[],
    limits: readonly RateLimit[],
    now: number,
    idempotencyKey?: string,
  ): Promise<IncrementOutcome[]> {
    this.sweep(now);
    if (idempotencyKey === undefined) return this.applyMany(commands, limits, now);
    const fingerprint = batchFingerprint(commands);
    const record = this.batches.get(`batch\n${idempotencyKey}`);
    if (record && record.expiresAt > now) {
      if (record.fingerprint !== fingerprint) throw new IdempotencyConflictError();
      return decodeAnswers(record.answers);
    }
    const outcomes = await this.applyMany(commands, limits, now);
    const answers = encodeAnswers(outcomes);
    setCapped(
      this.batches,
      `batch\n${idempotencyKey}`,
      { fingerprint, answers, expiresAt: now + this.idempotencyTtlMs },
      this.maxRecords,
    );
    return outcomes;
  }

  async claimEventsKey(key: string, events: readonly QueuedEvent[], now: number): Promise<void> {
    this.sweep(now);
    const fingerprint = eventsFingerprint(events);
    const record = this.batches.get(`events\n${key}`);
    if (record && record.expiresAt > now) {
      if (record.fingerprint !== fingerprint) throw new IdempotencyConflictError();
      return;
    }
    const claimed = { fingerprint, answers: "", expiresAt: now + this.idempotencyTtlMs };
    setCapped(this.batches, `events\n${key}`, claimed, this.maxRecords);
  }

  private async applyMany(
    commands: readonly IncrementCommand[],
    limits: readonly RateLimit[],
    now: number,
  ): Promise<IncrementOutcome[]> {
    const replays = commands.map((c, i) => this.replayOf(c, i));
    const totals = new Map<string, number>();
    commands.forEach((c, i) => {
      if (replays[i] || c.kind !== "total") return;
      const key = counterKey(c.resourceId, c.type);
      const total = (totals.get(key) ?? this.totals.get(key) ?? 0) + c.delta;
      if (total > MAX_EXACT_COUNT) throw new CountLimitError(MAX_EXACT_COUNT, i);
      totals.set(key, total);
    });
    if (replays.some((r) => r === undefined)) this.countAgainst(limits, now);
    return commands.map((c, i) => replays[i] ?? this.applyAndRecord(c));
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

  async history(query: HistoryQuery): Promise<CounterHistory> {
    const key = counterKey(query.resourceId, query.type);
    const [reading] = await this.read([query]);
    return historyOf(query, reading?.count ?? 0, (day) => this.histories.deltaOf(key, day));
  }

  async ranking(query: RankingQuery): Promise<RankedItem[]> {
    const ids =
      query.period === "week"
        ? daysOfWeek(query.now)
        : [query.period === "all" ? "all" : bucketOf(query.period, query.now).id];
    // A week is the sum of its days, as the Redis store's (there within a minute).
    const sums = new Map<string, number>();
    for (const id of ids) {
      const found = this.rankings.get(`${query.type}\n${id}`);
      if (!found || found.expiresAt <= query.now) continue;
      for (const [resourceId, count] of found.scores)
        sums.set(resourceId, (sums.get(resourceId) ?? 0) + count);
    }
    const items: RankedItem[] = [];
    for (const [resourceId, count] of sums) if (count > 0) items.push({ resourceId, count });
    return items.sort(compareRanked).slice(0, query.limit);
  }

  async limit(limits: readonly RateLimit[], now: number): Promise<void> {
    this.sweep(now);
    this.countAgainst(limits, now);
  }

  /** The all-time score of a counter set to its count, trimmed to the cap. */
  private scoreAllTime(type: string, resourceId: string, count: number, now: number): void {
    const all = this.bucket(`${type}\nall`, Number.POSITIVE_INFINITY, now).scores;
    if (count <= 0) all.delete(resourceId);
    else all.set(resourceId, count);
    trimLowest(all, this.rankingCap);
  }

  async setCount(counter: CounterKey, count: number, now: number): Promise<void> {
    const key = counterKey(counter.resourceId, counter.type);
    const before = this.totals.get(key) ?? 0;
    this.histories.record(key, count - before, now, now);
    this.setTotal(counter, count, now);
    if (count !== before) this.announceCount(counter, count);
  }

  private announceCount(counter: CounterKey, count: number): void {
    this.changes.announce({ resourceId: counter.resourceId, type: counter.type, kind: counter.kind, count });
  }

  /** A total set as it stands, its history untouched (import loads the file's own). */
  private setTotal(counter: CounterKey, count: number, now: number): void {
    const key = counterKey(counter.resourceId, counter.type);
    if (count === 0) this.totals.delete(key);
    else this.totals.set(key, count);
    this.scoreAllTime(counter.type, counter.resourceId, count, now);
  }

  async reset(counter: CounterKey, _now: number): Promise<void> {
    const key = counterKey(counter.resourceId, counter.type);
    for (const user of this.members.get(key) ?? []) this.userIndex.get(user)?.delete(key);
    this.members.delete(key);
    this.totals.delete(key);
    this.users.delete(key);
    this.histories.clear(key);
    for (const [name, bucket] of this.rankings)
      if (name.startsWith(`${counter.type}\n`)) bucket.scores.delete(counter.resourceId);
    this.announceCount(counter, 0);
  }

  async eraseUser(userId: string, now: number): Promise<number> {
    let removed = 0;
    for (const key of [...(this.userIndex.get(userId) ?? [])]) {
      const set = this.members.get(key);
      if (set?.has(userId)) {
        this.leave(set, key, userId);
        this.histories.record(key, -1, now, now);
        const [type = "", resourceId = ""] = key.split("\n");
        const command = { resourceId, type, kind: "unique" as const, userId, delta: -1, now };
        this.rank(command, set.size);
        this.announceCount(command, set.size);
        removed++;
      }
    }
    this.userIndex.delete(userId);
    return removed;
  }

  async *exportCounters(options: { members: boolean }): AsyncIterable<CounterRecord[]> {
    let page: CounterRecord[] = [];
    const entries = [
      ...[...this.totals].map(([key, count]) => ({ key, kind: "total" as const, count, users: undefined })),
      ...[...this.members].map(([key, set]) => ({
        key,
        kind: "unique" as const,
        count: set.size,
        users: set,
      })),
    ];
    for (const { key, kind, count, users } of entries) {
      const [type = "", resourceId = ""] = key.split("\n");
      const history = this.histories.of(key);
      page.push({
        resourceId,
        type,
        kind,
        count,
        ...(users && options.members ? { users: [...users] } : {}),
        ...(history ? { history } : {}),
      });
      if (page.length === 1000) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  async ping(): Promise<void> {}

  /** Nothing outlives the process: the memory store always holds the current format. */
  readonly dataFormat = { read: async () => CURRENT_DATA_FORMAT, record: async () => CURRENT_DATA_FORMAT };

  async close(): Promise<void> {}

  async importCounters(records: readonly CounterRecord[], now: number): Promise<void> {
    for (const record of records) {
      const key = counterKey(record.resourceId, record.type);
      if (record.history) this.histories.replace(key, record.history);
      if (record.kind === "total") {
        this.setTotal(record, record.count, now);
        this.announceCount(record, record.count);
        continue;
      }
      const set = setOf(this.members, key);
      for (const user of [...set]) if (!record.users?.includes(user)) this.leave(set, key, user);
      for (const user of record.users ?? []) this.join(set, key, user);
      if (set.size === 0) this.members.delete(key);
      this.scoreAllTime(record.type, record.resourceId, set.size, now);
      this.announceCount(record, set.size);
    }
  }
}

/** The store port over the counters, as the Redis and Upstash stores give it. */
/** The memory store: one process's counters, the same answers as Redis at small counts. */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStore(options);
}

/** The local event queue in the process: what the local server on the memory store uses. */
export function createMemoryEventQueue(): LocalEventQueue {
  const messages: string[] = [];
  return {
    push: async (message) => {
      messages.push(message);
    },
    peek: async (max) => messages.slice(0, max),
    length: async () => messages.length,
    remove: async (taken) => {
      for (const m of taken) {
        const at = messages.indexOf(m);
        if (at >= 0) messages.splice(at, 1);
      }
    },
  };
}
