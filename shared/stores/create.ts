// Builds the configured store and its client, once per process.

import type { Config } from "../config.ts";
import type { CounterStore } from "../domain.ts";
import type { Logger } from "../logger.ts";
import { createMemoryStore } from "./memory.ts";
import { createRedisClient, createRedisStore } from "./redis.ts";
import { createUpstashClient, createUpstashStore } from "./upstash.ts";

export function createStore(config: Config, logger: Logger): CounterStore {
  const { keyPrefix, storeTimeoutMs: timeoutMs } = config;
  switch (config.store) {
    case "memory":
      return createMemoryStore();
    case "redis": {
      // loadConfig guarantees the URL for this store.
      const client = createRedisClient(config.redisUrl as string, config.redisCluster, timeoutMs);
      // Without a listener, ioredis reports every failed reconnect as an unhandled error.
      let lastReported = 0;
      client.on("error", (error: Error) => {
        if (Date.now() - lastReported < 10_000) return;
        lastReported = Date.now();
        logger.warn("redis connection error", { error: error.message });
      });
      return createRedisStore(client, {
        keyPrefix,
        timeoutMs,
        onBackgroundError: (error) =>
          logger.warn("ranking update failed after an applied increment", { error }),
      });
    }
    case "upstash":
      return createUpstashStore(
        createUpstashClient(config.upstashUrl as string, config.upstashToken as string, timeoutMs),
        { keyPrefix, timeoutMs },
      );
  }
}
