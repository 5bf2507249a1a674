// The floor for `npm run bench`: the least a Hono + ioredis service can do per route, by
// hand. Increments are a bare INCRBY, reads a GET, a batch an MGET, the ranking a
// ZREVRANGE. HighPress is measured against it on the same Redis.

import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { Redis } from "ioredis";

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { enableAutoPipelining: true });
const app = new Hono();

app.post("/api/v1/counter/increment", async (c) => {
  const b = await c.req.json<{ resource_id: string; counter_type: string; increment?: number }>();
  const count = await redis.incrby(`floor:${b.resource_id}:${b.counter_type}`, b.increment ?? 1);
  return c.json({
    success: true,
    data: { resource_id: b.resource_id, counter_type: b.counter_type, count, success: true, applied: true },
  });
});
app.get("/api/v1/counter/hot/:type", async (c) => {
  const flat = await redis.zrevrange(`floor:rank:${c.req.param("type")}`, 0, 9, "WITHSCORES");
  const items = [];
  for (let i = 0; i + 1 < flat.length; i += 2)
    items.push({ resource_id: flat[i], count: Number(flat[i + 1]) });
  return c.json({ success: true, data: { counter_type: c.req.param("type"), period: "day", items } });
});
app.get("/api/v1/counter/:id/:type", async (c) => {
  const count = Number((await redis.get(`floor:${c.req.param("id")}:${c.req.param("type")}`)) ?? 0);
  return c.json({
    success: true,
    data: { resource_id: c.req.param("id"), counter_type: c.req.param("type"), count },
  });
});
app.post("/api/v1/counter/batch", async (c) => {
  const { queries } = await c.req.json<{ queries: { resource_id: string; counter_type: string }[] }>();
  const values = await redis.mget(queries.map((q) => `floor:${q.resource_id}:${q.counter_type}`));
  return c.json({
    success: true,
    data: queries.map((q, i) => ({
      resource_id: q.resource_id,
      counter_type: q.counter_type,
      count: Number(values[i] ?? 0),
    })),
  });
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 8081), hostname: "127.0.0.1" }, (info) => {
  process.stdout.write(`floor listening on ${info.port}\n`);
});
