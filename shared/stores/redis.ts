// The Redis store over ioredis (TCP, TLS with rediss://, cluster mode for ElastiCache
// Serverless). Commands are auto-pipelined; nothing is queued while disconnected or resent
// after a reconnect, so a write is sent at most once and only on a live connection.

import { Cluster, type ClusterOptions, Redis, type RedisOptions, ReplyError } from "ioredis";
import type { CounterStore, LocalEventQueue } from "../domain/model.ts";
import { NO_PUBSUB } from "./script-kernel.ts";
import {
  createScriptEventQueue,
  createScriptStore,
  type PubSubOpener,
  type ScriptStoreOptions,
  type ScriptTransport,
} from "./script-store.ts";

export type RedisClient = Redis | Cluster;

/** The script store's options but those the client decides (a cluster or not). */
export type RedisStoreOptions = Omit<ScriptStoreOptions, "name" | "dialect" | "cluster">;

/** Raised before sending: the connection was not ready within the deadline. */
class NotConnectedError extends Error {
  override name = "NotConnectedError";
}

/** Client options that make failures fast and never resend a write behind the caller's back. */
function redisClientOptions(timeoutMs: number): RedisOptions {
  return {
    enableAutoPipelining: true,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 2000),
    // Nothing waits in an offline queue to be sent after the caller got its 503.
    enableOfflineQueue: false,
    // On a lost connection, commands in flight fail at once (maxRetriesPerRequest 0 flushes
    // them) and are never written again on the new connection: a write whose outcome is
    // unknown must be retried by the caller, with its Idempotency-Key, not by us.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  };
}

/** Builds the client for REDIS_URL; `rediss://` turns TLS on. Connects in the background. */
export function createRedisClient(url: string, cluster: boolean, timeoutMs: number): RedisClient {
  const options = redisClientOptions(timeoutMs);
  if (!cluster) return new Redis(url, options);
  const parsed = new URL(url);
  const { enableOfflineQueue: _offline, retryStrategy: _retry, ...nodeOptions } = options;
  const clusterOptions: ClusterOptions = {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
    // ElastiCache Serverless hands out node addresses that only resolve through TLS SNI.
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: {
      ...nodeOptions,
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
    },
  };
  return new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], clusterOptions);
}

/**
 * One wait for the connection per client, however many requests find it down: one "ready"
 * listener, not one per waiting request (which Node reports as a MaxListenersExceededWarning
 * during an outage). Each waiter gives up on its own deadline.
 */
function connectionWaiter(client: RedisClient): (timeoutMs: number) => Promise<void> {
  let ready: Promise<void> | undefined;
  const shared = (): Promise<void> => {
    if (!ready) {
      ready = new Promise<void>((resolve) => {
        client.once("ready", () => {
          ready = undefined;
          resolve();
        });
      });
      if (client.status === "wait") client.connect().catch(() => {});
    }
    return ready;
  };
  return async (timeoutMs) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new NotConnectedError(`not connected to Redis (status ${client.status})`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([shared(), late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The slow path: wait up to 90% of the deadline for a connection, then send within the rest. */
async function sendWhenReady<T>(
  waitReady: (timeoutMs: number) => Promise<void>,
  timeoutMs: number,
  send: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  await waitReady(Math.max(1, Math.floor(timeoutMs * 0.9)));
  const left = timeoutMs - (performance.now() - started);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("Command timed out")), Math.max(1, left));
  });
  try {
    return await Promise.race([send(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** SCAN pages of one node, then the next (every master of a cluster): never KEYS. */
async function* scanKeys(
  client: RedisClient,
  match: string,
  whenReady: <T>(send: () => Promise<T>) => Promise<T>,
): AsyncIterable<string[]> {
  await whenReady(async () => undefined);
  const nodes: Redis[] = client instanceof Cluster ? client.nodes("master") : [client];
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await whenReady(() => node.scan(cursor, "MATCH", match, "COUNT", 1000));
      cursor = next;
      yield keys;
    } while (cursor !== "0");
  }
}

/**
 * Pub/sub over a connection of its own (a subscribed connection serves nothing else), made on
 * the first subscription. It may queue while disconnected (a subscription is safe to send
 * late) and ioredis subscribes again after a reconnect; the change feed bounds the wait.
 */
function redisPubSub(client: RedisClient): PubSubOpener {
  return (onMessage) => {
    const sub: RedisClient =
      client instanceof Cluster
        ? client.duplicate(undefined, { enableOfflineQueue: true })
        : client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
    // Errors are the store client's to report: this connection only reconnects.
    sub.on("error", () => {});
    sub.on("message", (channel: string, message: string) => onMessage(channel, message));
    sub.on("pmessage", (pattern: string, channel: string, message: string) =>
      onMessage(channel, message, pattern),
    );
    return {
      subscribe: async (channel, pattern) => {
        await (pattern ? sub.psubscribe(channel) : sub.subscribe(channel));
      },
      unsubscribe: async (channel, pattern) => {
        await (pattern ? sub.punsubscribe(channel) : sub.unsubscribe(channel));
      },
      close: async () => {
        await sub.quit().catch(() => sub.disconnect());
      },
    };
  };
}

/** What carries scripts to this client: within the deadline, and never queued while disconnected. */
function redisTransport(client: RedisClient, timeoutMs: number): ScriptTransport {
  // Connected (nearly always): the command goes out at once and commandTimeout is its
  // deadline. Not connected yet (cold start, reconnecting): wait for the connection within
  // the deadline, then send with what is left of it.
  const waitReady = connectionWaiter(client);
  const whenReady = <T>(send: () => Promise<T>): Promise<T> =>
    client.status === "ready" ? send() : sendWhenReady(waitReady, timeoutMs, send);
  return {
    evalsha: (sha1, keys, args) => whenReady(() => client.evalsha(sha1, keys.length, ...keys, ...args)),
    eval: (source, keys, args) => whenReady(() => client.eval(source, keys.length, ...keys, ...args)),
    pfcount: (key) => whenReady(() => client.pfcount(key)),
    scan: (match) => scanKeys(client, match, whenReady),
    // A constant where it stands, so esbuild drops the reader from bundles that carry no feed.
    pubsub: process.env.HP_BUNDLED_CHANGES === "0" ? NO_PUBSUB : redisPubSub(client),
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
    replyOf: (error) => (error instanceof ReplyError ? (error as Error).message : undefined),
    isNotSent: (error) =>
      error instanceof NotConnectedError ||
      (error instanceof Error && error.message.includes("enableOfflineQueue options is false")),
  };
}

export function createRedisStore(client: RedisClient, options: RedisStoreOptions): CounterStore {
  return createScriptStore(redisTransport(client, options.timeoutMs), {
    ...options,
    name: "redis",
    dialect: "redis",
    cluster: client instanceof Cluster,
  });
}

/** The local event queue in this Redis (a list under the key prefix), over the store's client. */
export function createRedisEventQueue(
  client: RedisClient,
  options: { keyPrefix: string; timeoutMs: number },
): LocalEventQueue {
  return createScriptEventQueue(redisTransport(client, options.timeoutMs), {
    name: "redis",
    dialect: "redis",
    ...options,
    cluster: client instanceof Cluster,
  });
}
