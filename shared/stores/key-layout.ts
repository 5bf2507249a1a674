// The key layout of the Redis and Upstash stores: every key a script touches, named in one place.

import { subjectDigest } from "./fingerprint.ts";

/** A resource's ranking shard: FNV-1a of its id, so it never moves. */
export function shardOf(resourceId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < resourceId.length; i++) {
    hash ^= resourceId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/**
 * Every key of one resource shares the hash tag `{resource_id}` (Redis Cluster: one slot,
 * so the increment script may touch them all); identifiers cannot contain braces.
 * Ranking keys of one counter type share the tag `{type}` under `rank:`.
 */
export class KeyLayout {
  /**
   * `rankingShards` > 1 (Redis Cluster): each ranking is split over that many hash tags,
   * `{type:shard}`, a resource always in the same shard, so one type's ranking writes spread
   * over the cluster's nodes instead of all landing on one.
   */
  constructor(
    private readonly prefix: string,
    readonly rankingShards = 1,
  ) {}
  counter(resourceId: string, type: string, unique: boolean): string {
    return `${this.prefix}:{${resourceId}}:${unique ? "u" : "t"}:${type}`;
  }
  /** HyperLogLog of the user_ids that incremented a total counter. */
  users(resourceId: string, type: string): string {
    return `${this.prefix}:{${resourceId}}:n:${type}`;
  }
  idempotency(resourceId: string, key: string): string {
    return `${this.prefix}:{${resourceId}}:i:${key}`;
  }
  /**
   * A keyed batch's one record: the request's fingerprint and every item's answer, named by
   * the key's digest. On Redis Cluster, one more per resource the batch touches (`resourceId`),
   * in that resource's slot, so a retry after a partial failure applies each item once.
   */
  /** The Idempotency-Key record of a POST of queued events, named by the key's digest. */
  eventsRecord(key: string): string {
    return `${this.prefix}:iq:{${subjectDigest(key)}}`;
  }
  batchRecord(key: string, resourceId?: string): string {
    const digest = subjectDigest(key);
    return resourceId === undefined
      ? `${this.prefix}:ib:{${digest}}`
      : `${this.prefix}:{${resourceId}}:ib:${digest}`;
  }
  /** The unique counters a user is in (`type:resource` entries), for erasure: the user's hash tag. */
  userIndex(userId: string): string {
    return `${this.prefix}:ux:{${userId}}`;
  }
  /** The data format the store holds (data-format.ts); outside every counter's pattern. */
  dataFormat(): string {
    return `${this.prefix}:format`;
  }
  /** What SCAN matches to find every counter (sets and totals; rankings and the rest start otherwise). */
  counterPattern(): string {
    return `${this.prefix}:{*}:[ut]:*`;
  }
  /** A counter key as its resource, kind and type; undefined for any other key. */
  parseCounter(key: string): { resourceId: string; unique: boolean; type: string } | undefined {
    const head = `${this.prefix}:{`;
    if (!key.startsWith(head)) return undefined;
    const match = /^([^{}]+)\}:([ut]):([a-z][a-z0-9_]*)$/.exec(key.slice(head.length));
    return match
      ? { resourceId: match[1] as string, unique: match[2] === "u", type: match[3] as string }
      : undefined;
  }
  /** A counter's history: a hash of each kept day's net change (`20261206` -> change). */
  history(resourceId: string, type: string): string {
    return `${this.prefix}:{${resourceId}}:h:${type}`;
  }
  /** The event_ids applied to a counter in the last 24 h (a sorted set scored by time), for exactly-once. */
  eventIds(resourceId: string, type: string): string {
    return `${this.prefix}:{${resourceId}}:e:${type}`;
  }
  /** The local event queue (a list of messages), when there is no SQS. */
  eventQueue(): string {
    return `${this.prefix}:events:queue`;
  }
  /**
   * A rate-limit window of one subject (`ip:…`, `key:…`, `user:…`), named by the subject's
   * digest (its own hash tag): no user_id or address in a key.
   */
  rateWindow(subject: string, window: number): string {
    return `${this.prefix}:rl:{${subjectDigest(subject)}}:${window}`;
  }
  /** `bucket` is `all` or a bucket id such as `d20261126`; sharded, the resource picks the shard. */
  ranking(type: string, bucket: string, resourceId = ""): string {
    if (this.rankingShards === 1) return `${this.prefix}:rank:{${type}}:${bucket}`;
    return `${this.prefix}:rank:{${type}:${shardOf(resourceId, this.rankingShards)}}:${bucket}`;
  }
  /** Every shard's key of a ranking, for reads that merge them. */
  rankingShardKeys(type: string, bucket: string): string[] {
    if (this.rankingShards === 1) return [this.ranking(type, bucket)];
    return Array.from(
      { length: this.rankingShards },
      (_, s) => `${this.prefix}:rank:{${type}:${s}}:${bucket}`,
    );
  }
}
