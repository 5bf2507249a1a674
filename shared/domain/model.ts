// The counter domain: counter kinds, the store port every backend implements, and the
// commands and readings that cross it. Nothing here knows about HTTP or Redis.

import type { DataFormatPort } from "./data-format.ts";

/** `unique`: one per user (likes, follows), `total`: a plain sum (views). */
export type CounterKind = "unique" | "total";

/** Configured counter types, by name. */
export type CounterTypes = ReadonlyMap<string, CounterKind>;

export const PERIODS = ["hour", "day", "week", "all"] as const;
export type Period = (typeof PERIODS)[number];

/** A fixed-window rate limit on one subject: `ip:<address>`, `key:<hash>` or `user:<user_id>`. */
/** A rate rule: at most `limit` every `windowMs` (RATE_LIMIT_*, AUTH_FAILURE_LIMIT). */
export interface RateRule {
  limit: number;
  windowMs: number;
}
export interface RateLimits {
  ip?: RateRule;
  key?: RateRule;
  user?: RateRule;
}

export interface RateLimit {
  subject: string;
  limit: number;
  windowMs: number;
  /**
   * Requests this counts as: 1, or the items of one user in a batch of increments. 0: a check
   * that the window has room for one more, counting nothing (a locked-out address's check).
   */
  weight?: number;
}

/** The window an instant falls in, and the time left in it. */
export function rateWindow(limit: RateLimit, now: number): { index: number; ttlMs: number } {
  const index = Math.floor(now / limit.windowMs);
  return { index, ttlMs: (index + 1) * limit.windowMs - now };
}

export interface IncrementCommand {
  resourceId: string;
  type: string;
  kind: CounterKind;
  userId: string;
  /** unique: +1 or -1; total: 1..1,000,000 */
  delta: number;
  /** Present when the caller sent an Idempotency-Key. */
  idempotencyKey?: string;
  /** Milliseconds since the epoch; picks the ranking buckets. */
  now: number;
  /** Checked and counted before applying; a refusal throws RateLimitedError and applies nothing. */
  limits?: readonly RateLimit[];
}

/**
 * Increments fail with RateLimitedError, IdempotencyConflictError, CountLimitError (a total
 * past MAX_EXACT_COUNT) or StoreUnavailableError, and then apply nothing (but for a
 * StoreUnavailableError whose mayHaveApplied is true).
 */
export interface IncrementOutcome {
  count: number;
  /** false when the request changed nothing (like twice, unlike a non-member). */
  applied: boolean;
  /** true when an Idempotency-Key matched an earlier request: nothing was applied now. */
  replayed: boolean;
}

export interface CounterQuery {
  resourceId: string;
  type: string;
  kind: CounterKind;
  /** Also read unique_users (total) or membership of userId (unique). */
  detail?: boolean;
  userId?: string;
}

export interface CounterReading {
  count: number;
  uniqueUsers?: number;
  member?: boolean;
}

/** A counter's history (history.ts names the days). */
export interface HistoryQuery {
  resourceId: string;
  type: string;
  kind: CounterKind;
  /** Days asked for, ending today (1..MAX_HISTORY_QUERY_DAYS). */
  days: number;
  now: number;
}

export interface DayChange {
  /** `2026-12-06` (UTC). */
  date: string;
  delta: number;
}

export interface CounterHistory {
  count: number;
  /** One entry per day asked for, oldest first; a day without a change is 0. */
  days: DayChange[];
}

export interface RankingQuery {
  type: string;
  period: Period;
  limit: number;
  now: number;
}

export interface RankedItem {
  resourceId: string;
  count: number;
}

export type StoreName = "memory" | "redis" | "upstash";

/**
 * Where accepted events wait when there is no SQS (the local server): a list of messages, in
 * the store's database or in the process. A port of its own: the app sends to it, the local
 * consumer takes from it, the counter store never sees it.
 */
export interface LocalEventQueue {
  /** Appends one message (one accepted POST). */
  push(message: string): Promise<void>;
  /** Up to `max` messages from the head, left in place. */
  peek(max: number): Promise<string[]>;
  /** Removes these messages (those taken and applied). */
  remove(messages: readonly string[]): Promise<void>;
  /** How many messages wait (the queue depth /metrics reports). */
  length(): Promise<number>;
}

/**
 * An event accepted for counting later (POST /api/v1/counter/events): an increment with an
 * id that makes it count once however often it is delivered.
 */
export interface QueuedEvent {
  eventId: string;
  resourceId: string;
  type: string;
  kind: CounterKind;
  userId: string;
  delta: number;
  /** When the POST that carried it was accepted (ms): the day its history records. Default: when applied. */
  acceptedAt?: number;
}

/** Where accepted events wait to be counted: SQS on AWS, the store's own queue locally. */
export interface EventQueue {
  /** Durably queues the events (one message); resolves once they are. */
  send(events: readonly QueuedEvent[]): Promise<void>;
}

/** How long an event_id is remembered, so that a redelivery or a retried POST counts nothing twice. */
export const EVENT_DEDUPE_TTL_MS = 24 * 60 * 60 * 1000;

/** A counter named by resource and type. */
export interface CounterKey {
  resourceId: string;
  type: string;
  kind: CounterKind;
}

/**
 * A counter as export writes it and import loads it (users: the members of a unique counter;
 * history: each kept day's net change, by yyyymmdd day; absent from files of 0.1.0).
 */
export interface CounterRecord extends CounterKey {
  count: number;
  users?: string[];
  history?: ReadonlyMap<number, number>;
}

/** The operations of an operator (admin routes, export and import), not of the public API. */
export interface CounterAdmin {
  /**
   * Sets a total counter to `count` and its all-time ranking score, the difference recorded on
   * the day; one script on a single shard.
   */
  setCount(counter: CounterKey, count: number, now: number): Promise<void>;
  /** Resets a counter to 0: its set or HyperLogLog, its history, and its members in every live ranking key. */
  reset(counter: CounterKey, now: number): Promise<void>;
  /**
   * Removes a user from every unique counter they are in, through the per-user index the
   * increments keep (no keyspace scan); counts, rankings and today's history go down as for
   * an unlike (the days the user's likes were recorded on are not rewritten).
   * Returns how many counters the user left. Rerunnable: a failed run leaves the rest indexed.
   */
  eraseUser(userId: string, now: number): Promise<number>;
  /** Every counter, streamed in pages (SCAN, never KEYS); `members: false` leaves users out. */
  exportCounters(options: { members: boolean }): AsyncIterable<CounterRecord[]>;
  /**
   * Loads counters with set semantics (safe to run twice): count, users, all-time score, and
   * the history when the record has one (it replaces the counter's; without one it is kept).
   */
  importCounters(records: readonly CounterRecord[], now: number): Promise<void>;
}

/** Stops a subscription; safe to call twice. */
export type Unwatch = () => void;

/** A counter's new count, as announced by whichever process changed it. */
export interface CounterChange {
  resourceId: string;
  type: string;
  kind: CounterKey["kind"];
  count: number;
}

/**
 * New counts, announced by every write to the store (on Redis, by every process on it, in
 * the write's own script). Nothing is opened until the first watch.
 */
export interface ChangeFeed {
  /** Hears one counter's new counts; resolves once subscribed, so a change after that is heard. */
  watch(counter: CounterKey, onCount: (count: number) => void): Promise<Unwatch>;
  /** Hears every counter's new counts (the AWS publisher). */
  watchAll(onChange: (change: CounterChange) => void): Promise<Unwatch>;
  /** Closes whatever the feed opened. */
  close(): Promise<void>;
}

/**
 * The one port between the domain and a backend. Each call is one store round trip on
 * Redis and Upstash (two for an increment on Redis Cluster) and fails with
 * StoreUnavailableError within the configured deadline.
 */
export interface CounterStore extends CounterAdmin {
  readonly name: StoreName;
  increment(command: IncrementCommand): Promise<IncrementOutcome>;
  /**
   * Applies queued events of one counter in one call, coalesced (one INCRBY of their sum,
   * one PFADD of their users, one ranking update), each event once by its id within 24 h, in
   * order (a like then an unlike of one user nets to nothing). Returns how many were new.
   * Throws CountLimitError, applying nothing, when the sum would pass MAX_EXACT_COUNT.
   */
  applyEvents(events: readonly QueuedEvent[], now: number): Promise<number>;
  /**
   * Increments in order (their own idempotencyKey unused), and the rate limits counted once
   * for them all (weights for a user's several items): one script on a single shard, where
   * nothing is applied unless all can be; on Redis Cluster one call per slot. With
   * `idempotencyKey`, the request leaves one record (on a cluster, one more per resource it
   * touches): a retry of the same request is answered from it, each item replayed; the key
   * with another request throws IdempotencyConflictError, nothing applied. Throws as
   * increment does, with the failing item's index.
   */
  incrementMany(
    commands: readonly IncrementCommand[],
    limits: readonly RateLimit[],
    now: number,
    idempotencyKey?: string,
  ): Promise<IncrementOutcome[]>;
  read(queries: readonly CounterQuery[]): Promise<CounterReading[]>;
  /** A counter's count and its net change on each day asked for (one round trip). */
  history(query: HistoryQuery): Promise<CounterHistory>;
  ranking(query: RankingQuery): Promise<RankedItem[]>;
  /**
   * Claims an Idempotency-Key for queued events: the first POST under it records a digest of
   * its events for the idempotency TTL; the same events again pass (a retry, whose events the
   * consumer counts once by their ids); other events under the key throw
   * IdempotencyConflictError.
   */
  claimEventsKey(key: string, events: readonly QueuedEvent[], now: number): Promise<void>;
  /** Counts one request against each limit, or throws RateLimitedError and counts nothing. */
  limit(limits: readonly RateLimit[], now: number): Promise<void>;
  /**
   * Round trip to the store that would be refused where a write is: throws
   * StoreUnavailableError when it does not answer, with `refusal` set when it answers but
   * refuses writes (out of memory, read-only replica).
   */
  ping(): Promise<void>;
  /** The data format the store records (one key): see data-format.ts. */
  dataFormat: DataFormatPort;
  /** New counts as writes (from any process on the store) announce them: live counts. */
  readonly changes: ChangeFeed;
  close(): Promise<void>;
}

/** The largest count a total counter holds exactly (JSON numbers lose precision past it). */
export const MAX_EXACT_COUNT = Number.MAX_SAFE_INTEGER;

/** Members the all-time ranking of one counter type keeps (and each hour/day/week bucket). */
export const DEFAULT_RANKING_MAX_MEMBERS = 10_000;

/** Redis Cluster: hash tags each ranking is split over (RANKING_SHARDS). */
export const DEFAULT_RANKING_SHARDS = 16;

/** How long an Idempotency-Key is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Orders a ranking: highest count first, ties by resource_id ascending. */
export function compareRanked(a: RankedItem, b: RankedItem): number {
  if (a.count !== b.count) return b.count - a.count;
  return a.resourceId < b.resourceId ? -1 : a.resourceId > b.resourceId ? 1 : 0;
}
