// The admin routes when the store is gone: a 503 that says whether the write may have been
// applied (they are writes), and no log line that names the user being erased.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, createRedisStore } from "../../shared/stores/redis.ts";
import { randomPrefix } from "../support/backends.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { json, testApp } from "../support/test-app.ts";

const ADMIN_KEY = "the-admin-key-for-faults-0123";
let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
}, 30_000);
afterAll(() => server.stop());

describe("admin routes on a store that is gone", () => {
  it("answer 503 with may_have_applied, and log the route, never the user_id", async () => {
    const client = createRedisClient(server.url, false, 500);
    client.on("error", () => {});
    const store = createRedisStore(client, { keyPrefix: randomPrefix(), timeoutMs: 500 });
    const t = testApp(store, { apiKeys: ["a-write-key-0123456789"], adminKeys: [ADMIN_KEY] });
    try {
      await server.kill();
      const auth = { authorization: `Bearer ${ADMIN_KEY}` };
      const calls: [string, string, unknown?][] = [
        ["DELETE", "/api/v1/admin/users/secret_user_4711"],
        ["DELETE", "/api/v1/admin/counter/a1/view"],
        ["PUT", "/api/v1/admin/counter/a1/view", { count: 5 }],
      ];
      for (const [method, path, body] of calls) {
        const res = await t.app.request(path, {
          method,
          headers: { ...auth, ...(body ? { "content-type": "application/json" } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        expect(res.status, path).toBe(503);
        expect(typeof (await json(res)).may_have_applied, path).toBe("boolean");
      }
      const logged = JSON.stringify(t.logger.lines);
      expect(logged).not.toContain("secret_user_4711");
      expect(logged).toContain("/api/v1/admin/users/{user_id}");
    } finally {
      client.disconnect();
      await server.restart();
    }
  });
});
