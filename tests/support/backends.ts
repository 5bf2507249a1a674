// The store backends the contract suite runs on. Each store gets a random key prefix, so
// tests never see each other's keys, and every client is closed at the end.

import { randomBytes } from "node:crypto";
import type { CounterStore, LocalEventQueue } from "../../shared/domain/model.ts";
import { createMemoryEventQueue, createMemoryStore } from "../../shared/stores/memory.ts";
import {
  createRedisClient,
  createRedisEventQueue,
  createRedisStore,
  type RedisClient,
} from "../../shared/stores/redis.ts";
import {
  createUpstashClient,
  createUpstashEventQueue,
  createUpstashStore,
} from "../../shared/stores/upstash.ts";
import { type RedisCluster, type RedisServer, startRedis, startRedisCluster } from "./redis-server.ts";
import { startUpstashEndpoint, type UpstashEndpoint } from "./upstash-endpoint.ts";

export interface StoreOptions {
  idempotencyTtlMs?: number;
  rankingMaxMembers?: number;
  rankingShards?: number;
  timeoutMs?: number;
  historyDays?: number;
}

export interface Backend {
  name: string;
  /** A store on a fresh random key prefix. */
  store(options?: StoreOptions): CounterStore;
  /** A local event queue in the same backend, on a fresh random key prefix. */
  queue(): LocalEventQueue;
  stop(): Promise<void>;
}

export const randomPrefix = () => `t${randomBytes(6).toString("hex")}`;

export function memoryBackend(): Backend {
  return {
    name: "memory",
    store: (o = {}) => createMemoryStore(o),
    queue: createMemoryEventQueue,
    stop: async () => {},
  };
}

function redisLike(name: string, url: string, cluster: boolean, stopServer: () => Promise<void>) {
  const clients: RedisClient[] = [];
  const stores: CounterStore[] = [];
  return {
    name,
    clients,
    store(o: StoreOptions = {}) {
      const timeoutMs = o.timeoutMs ?? 2000;
      const client = createRedisClient(url, cluster, timeoutMs);
      client.on("error", () => {});
      clients.push(client);
      const store = createRedisStore(client, { keyPrefix: randomPrefix(), timeoutMs, ...o });
      stores.push(store);
      return store;
    },
    queue() {
      const client = createRedisClient(url, cluster, 2000);
      clients.push(client);
      return createRedisEventQueue(client, { keyPrefix: randomPrefix(), timeoutMs: 2000 });
    },
    async stop() {
      // The change feeds' own connections (live counts), then the stores' clients.
      for (const store of stores) await store.changes.close();
      for (const c of clients) c.disconnect();
      await stopServer();
    },
  };
}

export async function redisBackend(): Promise<Backend & { server: RedisServer; clients: RedisClient[] }> {
  const server = await startRedis();
  return { ...redisLike("redis", server.url, false, server.stop), server };
}

export async function clusterBackend(): Promise<Backend & { cluster: RedisCluster }> {
  const cluster = await startRedisCluster();
  return { ...redisLike("redis-cluster", cluster.url, true, cluster.stop), cluster };
}

export async function upstashBackend(): Promise<
  Backend & { server: RedisServer; endpoint: UpstashEndpoint }
> {
  const server = await startRedis();
  const endpoint = await startUpstashEndpoint(server.url);
  const upstashStores: CounterStore[] = [];
  return {
    name: "upstash",
    server,
    endpoint,
    store(o: StoreOptions = {}) {
      const timeoutMs = o.timeoutMs ?? 2000;
      const store = createUpstashStore(createUpstashClient(endpoint.url, endpoint.token, timeoutMs), {
        keyPrefix: randomPrefix(),
        timeoutMs,
        ...o,
      });
      upstashStores.push(store);
      return store;
    },
    queue: () =>
      createUpstashEventQueue(createUpstashClient(endpoint.url, endpoint.token, 2000), {
        keyPrefix: randomPrefix(),
        timeoutMs: 2000,
      }),
    async stop() {
      for (const store of upstashStores) await store.changes.close();
      await endpoint.close();
      await server.stop();
    },
  };
}
