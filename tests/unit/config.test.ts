import { describe, expect, it } from "vitest";
import { ConfigError } from "../../shared/domain/errors.ts";
import { loadConfig } from "../../shared/runtime/config.ts";

describe("loadConfig", () => {
  it("defaults to the memory store with the spec's counter types", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      store: "memory",
      redisCluster: false,
      keyPrefix: "hp",
      storeTimeoutMs: 1000,
      maxBodyBytes: 65536,
      port: 8080,
      host: "127.0.0.1",
      apiKeys: [],
      logLevel: "info",
    });
    expect([...config.counterTypes]).toEqual([
      ["like", "unique"],
      ["follow", "unique"],
      ["view", "total"],
    ]);
  });

  it("picks upstash, then redis, from the URLs present", () => {
    expect(loadConfig({ REDIS_URL: "redis://h:6379" }).store).toBe("redis");
    expect(
      loadConfig({
        REDIS_URL: "redis://h",
        UPSTASH_REDIS_REST_URL: "https://x.upstash.io",
        UPSTASH_REDIS_REST_TOKEN: "t",
      }).store,
    ).toBe("upstash");
    expect(loadConfig({ COUNTER_STORE: "memory", REDIS_URL: "redis://h" }).store).toBe("memory");
  });

  it("reads cluster mode, TLS URLs, counter types, keys and numbers", () => {
    const config = loadConfig({
      REDIS_URL: "rediss://user:pw@cache.example:6379",
      REDIS_CLUSTER: "true",
      COUNTER_TYPES: "star:unique, play:total",
      API_KEYS: " key-aaaaaaaaaaaaaaaa , key-bbbbbbbbbbbbbbbb ",
      STORE_TIMEOUT_MS: "250",
      PORT: "9000",
    });
    expect(config.redisCluster).toBe(true);
    expect(config.redisUrl).toBe("rediss://user:pw@cache.example:6379");
    expect([...config.counterTypes]).toEqual([
      ["star", "unique"],
      ["play", "total"],
    ]);
    expect(config.apiKeys).toEqual(["key-aaaaaaaaaaaaaaaa", "key-bbbbbbbbbbbbbbbb"]);
    expect(config.storeTimeoutMs).toBe(250);
    expect(config.port).toBe(9000);
  });

  it("reads ADMIN_KEYS: 16+ characters each, none also a write key, and RANKING_MAX_MEMBERS", () => {
    const config = loadConfig({
      ADMIN_KEYS: " admin-aaaaaaaaaaaaaaaa ,admin-bbbbbbbbbbbbbbbb",
      RANKING_MAX_MEMBERS: "500",
    });
    expect(config.adminKeys).toEqual(["admin-aaaaaaaaaaaaaaaa", "admin-bbbbbbbbbbbbbbbb"]);
    expect(config.rankingMaxMembers).toBe(500);
    expect(loadConfig({}).adminKeys).toEqual([]);
    expect(loadConfig({}).rankingMaxMembers).toBe(10_000);
    expect(() => loadConfig({ ADMIN_KEYS: "short" })).toThrow(
      /ADMIN_KEYS: every key must be at least 16 characters/,
    );
    expect(() => loadConfig({ API_KEYS: "same-key-0123456789", ADMIN_KEYS: "same-key-0123456789" })).toThrow(
      /ADMIN_KEYS: a key must not also be in API_KEYS/,
    );
    expect(() => loadConfig({ RANKING_MAX_MEMBERS: "5" })).toThrow(
      /RANKING_MAX_MEMBERS: must be an integer from 100/,
    );
    expect(loadConfig({}).rankingShards).toBe(16);
    expect(loadConfig({ RANKING_SHARDS: "4" }).rankingShards).toBe(4);
    expect(() => loadConfig({ RANKING_SHARDS: "0" })).toThrow(/RANKING_SHARDS: must be an integer from 1/);
  });

  it("names every bad variable in one message", () => {
    const bad = {
      PORT: "eighty",
      LOG_LEVEL: "loud",
      COUNTER_TYPES: "like:sometimes",
      KEY_PREFIX: "a{b}",
      STORE_TIMEOUT_MS: "0",
      REDIS_CLUSTER: "yes",
      COUNTER_STORE: "upstash",
      UPSTASH_REDIS_REST_TOKEN: "token",
      API_KEYS: "short",
    };
    expect(() => loadConfig(bad)).toThrow(ConfigError);
    try {
      loadConfig(bad);
    } catch (error) {
      const message = (error as Error).message;
      for (const name of Object.keys(bad)) {
        if (name !== "COUNTER_STORE" && name !== "UPSTASH_REDIS_REST_TOKEN") expect(message).toContain(name);
      }
      expect(message).toContain("UPSTASH_REDIS_REST_URL: required");
    }
  });

  it("requires what the chosen store needs", () => {
    expect(() => loadConfig({ COUNTER_STORE: "redis" })).toThrow(/REDIS_URL: required/);
    expect(() => loadConfig({ COUNTER_STORE: "upstash" })).toThrow(
      /UPSTASH_REDIS_REST_URL.*UPSTASH_REDIS_REST_TOKEN/,
    );
    expect(() => loadConfig({ REDIS_URL: "http://not-redis" })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ COUNTER_TYPES: "like:unique,like:total" })).toThrow(/listed twice/);
    expect(() => loadConfig({ API_KEYS: "short" })).toThrow(/API_KEYS/);
    expect(() => loadConfig({ READ_AUTH: "true" })).toThrow(/READ_AUTH: needs API_KEYS/);
    expect(() => loadConfig({ CORS_ORIGINS: "app.example.com" })).toThrow(/CORS_ORIGINS/);
    expect(loadConfig({ CORS_ORIGINS: "https://a.example.com, http://localhost:3000" }).corsOrigins).toEqual([
      "https://a.example.com",
      "http://localhost:3000",
    ]);
  });

  it("treats empty values as unset", () => {
    expect(loadConfig({ REDIS_URL: "", PORT: "" })).toMatchObject({ store: "memory", port: 8080 });
  });
});
