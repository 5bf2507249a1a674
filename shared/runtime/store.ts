// Builds the configured store and its client, once per process (server start, Lambda init).
// A Lambda bundle is built with HP_BUNDLED_STORE defined as one store: the other branches'
// dynamic imports are then dead code, and the other stores (ioredis, @upstash/redis, the
// memory store) are left out.

import { assertReadable, FORMAT_WITHOUT_KEY } from "../domain/data-format.ts";
import { ConfigError } from "../domain/errors.ts";
import type { CounterStore, LocalEventQueue } from "../domain/model.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./logger.ts";

/**
 * Checks the data format a shared store holds (data-format.ts) and records it when none is:
 * throws DataFormatError when this release cannot read it. A store that does not answer is
 * not checked (the first requests will find it down anyway); one that refuses writes (full,
 * read-only) cannot record the format, and is read as the format it then holds.
 */
async function verifyDataFormat(store: CounterStore, logger: Logger): Promise<void> {
  let found: number | undefined;
  try {
    found = await store.dataFormat.read();
  } catch (error) {
    logger.warn("data format not checked: the store did not answer", { error });
    return;
  }
  if (found === undefined) {
    try {
      found = await store.dataFormat.record(FORMAT_WITHOUT_KEY);
    } catch (error) {
      logger.warn("data format not recorded: the store refuses writes", { error });
      found = FORMAT_WITHOUT_KEY;
    }
  }
  assertReadable(found);
}

/** The configured store and, beside it over the same client, the local event queue. */
export interface OpenedStore {
  store: CounterStore;
  /** Where POST /events waits when there is no SQS (the local server, a function without EVENTS_QUEUE_URL). */
  localQueue: LocalEventQueue;
}

/** The configured store, its data format checked, and its local event queue. */
export async function openStore(config: Config, logger: Logger): Promise<OpenedStore> {
  const opened = await openConfiguredStore(config, logger);
  if (config.store !== "memory") await verifyDataFormat(opened.store, logger);
  return opened;
}

/** The configured store, its data format checked. */
export async function createStore(config: Config, logger: Logger): Promise<CounterStore> {
  return (await openStore(config, logger)).store;
}

async function openConfiguredStore(config: Config, logger: Logger): Promise<OpenedStore> {
  const {
    keyPrefix,
    storeTimeoutMs: timeoutMs,
    rankingMaxMembers,
    rankingShards,
    idempotencyTtlMs,
    historyDays,
  } = config;
  const bundled = process.env.HP_BUNDLED_STORE;
  if (bundled !== undefined && config.store !== bundled) {
    throw new ConfigError(
      `COUNTER_STORE: this bundle carries the ${bundled} store only, not ${config.store}`,
    );
  }
  // Each branch names the define itself: esbuild drops a branch only when its condition is a
  // constant where it stands, not through a variable.
  if (
    process.env.HP_BUNDLED_STORE !== "upstash" &&
    process.env.HP_BUNDLED_STORE !== "memory" &&
    config.store === "redis"
  ) {
    const { createRedisClient, createRedisEventQueue, createRedisStore } = await import("../stores/redis.ts");
    // loadConfig guarantees the URL for this store.
    const client = createRedisClient(config.redisUrl as string, config.redisCluster, timeoutMs);
    // Without a listener, ioredis reports every failed reconnect as an unhandled error.
    let lastReported = 0;
    client.on("error", (error: Error) => {
      if (Date.now() - lastReported < 10_000) return;
      lastReported = Date.now();
      logger.warn("redis connection error", { error: error.message });
    });
    const store = createRedisStore(client, {
      keyPrefix,
      timeoutMs,
      idempotencyTtlMs,
      historyDays,
      rankingMaxMembers,
      rankingShards,
      onBackgroundError: (error) => logger.warn("store call failed aside the request", { error }),
    });
    return { store, localQueue: createRedisEventQueue(client, { keyPrefix, timeoutMs }) };
  }
  if (
    process.env.HP_BUNDLED_STORE !== "redis" &&
    process.env.HP_BUNDLED_STORE !== "memory" &&
    config.store === "upstash"
  ) {
    const { createUpstashClient, createUpstashEventQueue, createUpstashStore } = await import(
      "../stores/upstash.ts"
    );
    const client = createUpstashClient(config.upstashUrl as string, config.upstashToken as string, timeoutMs);
    const store = createUpstashStore(client, {
      keyPrefix,
      timeoutMs,
      idempotencyTtlMs,
      historyDays,
      rankingMaxMembers,
      onBackgroundError: (error) => logger.warn("store call failed aside the request", { error }),
    });
    return { store, localQueue: createUpstashEventQueue(client, { keyPrefix, timeoutMs }) };
  }
  if (process.env.HP_BUNDLED_STORE === undefined || process.env.HP_BUNDLED_STORE === "memory") {
    const { createMemoryEventQueue, createMemoryStore } = await import("../stores/memory.ts");
    return {
      store: createMemoryStore({ rankingMaxMembers, idempotencyTtlMs, historyDays }),
      localQueue: createMemoryEventQueue(),
    };
  }
  throw new ConfigError(`COUNTER_STORE: ${config.store} is not a store`);
}
