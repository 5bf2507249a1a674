// The same-work floor for `npm run bench`: Hono + ioredis doing exactly HighPress's store work
// per request (the same increment script with the same keys and arguments, the same reads),
// through HighPress's own Redis store, with no validation, no guards and no middleware. What
// HighPress's server spends beyond it per request is the cost of its HTTP edge.

import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { CounterKind } from "../../../shared/domain/model.ts";
import { createRedisClient, createRedisStore } from "../../../shared/stores/redis.ts";

const client = createRedisClient(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", false, 1000);
const store = createRedisStore(client, { keyPrefix: process.env.KEY_PREFIX ?? "samework", timeoutMs: 1000 });
const KINDS: Record<string, CounterKind> = { like: "unique", follow: "unique", view: "total" };
const kindOf = (type: string): CounterKind => KINDS[type] ?? "total";
const app = new Hono();

app.post("/api/v1/counter/increment", async (c) => {
  const b = await c.req.json<{
    resource_id: string;
    counter_type: string;
    user_id: string;
    increment?: number;
  }>();
  const outcome = await store.increment({
    resourceId: b.resource_id,
    type: b.counter_type,
    kind: kindOf(b.counter_type),
    userId: b.user_id,
    delta: b.increment ?? 1,
    now: Date.now(),
  });
  return c.json({
    success: true,
    data: {
      resource_id: b.resource_id,
      counter_type: b.counter_type,
      count: outcome.count,
      success: true,
      applied: outcome.applied,
    },
  });
});
app.get("/api/v1/counter/hot/:type", async (c) => {
  const type = c.req.param("type");
  const items = await store.ranking({ type, period: "day", limit: 10, now: Date.now() });
  return c.json({
    success: true,
    data: {
      counter_type: type,
      period: "day",
      items: items.map((i) => ({ resource_id: i.resourceId, count: i.count })),
    },
  });
});
app.get("/api/v1/counter/:id/:type", async (c) => {
  const [id, type] = [c.req.param("id"), c.req.param("type")];
  const [reading] = await store.read([{ resourceId: id, type, kind: kindOf(type), detail: true }]);
  return c.json({
    success: true,
    data: {
      resource_id: id,
      counter_type: type,
      count: reading?.count ?? 0,
      unique_users: reading?.uniqueUsers,
    },
  });
});
app.post("/api/v1/counter/batch", async (c) => {
  const { queries } = await c.req.json<{ queries: { resource_id: string; counter_type: string }[] }>();
  const readings = await store.read(
    queries.map((q) => ({ resourceId: q.resource_id, type: q.counter_type, kind: kindOf(q.counter_type) })),
  );
  return c.json({
    success: true,
    data: queries.map((q, i) => ({
      resource_id: q.resource_id,
      counter_type: q.counter_type,
      count: readings[i]?.count ?? 0,
    })),
  });
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 8082), hostname: "127.0.0.1" }, (info) => {
  process.stdout.write(`same-work floor listening on ${info.port}\n`);
});
