// The footprint tool behind the README's "what fills a store" table: it measures real keys
// with MEMORY USAGE on a real redis-server (here at a smaller scale than the README's run).

import { afterAll, beforeAll, expect, it } from "vitest";
import { measureFootprint } from "../../infra/tools/performance/footprint.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
}, 30_000);
afterAll(() => server.stop());

it("measures bytes per like, view counter, idempotency record and ranking member", async () => {
  const { rows } = await measureFootprint(server.url, { members: 500, users: 3000 });
  const bytes = (prefix: string) => rows.filter((r) => r.item.startsWith(prefix)).map((r) => r.bytes);
  const [sparse, dense] = bytes("view counter");
  expect(rows).toHaveLength(16);
  for (const row of rows) expect(row.bytes, row.item).toBeGreaterThan(0);
  // A member of a set of user_ids takes tens of bytes; a dense HyperLogLog is ~12 KB.
  for (const perLike of bytes("like")) expect(perLike).toBeLessThan(200);
  expect(dense).toBeGreaterThan(12_000);
  expect(sparse).toBeLessThan(1_000);
  expect(bytes("idempotency record")[0]).toBeLessThan(500);
  // One record per keyed batch, whatever its size: 100 items cost a few bytes each, not a record each.
  const [one, twenty, hundred] = bytes("a keyed batch");
  expect(rows.filter((r) => r.item.startsWith("a keyed batch")).map((r) => r.item)).toEqual([
    "a keyed batch of 1 (1 record)",
    "a keyed batch of 20 (1 record)",
    "a keyed batch of 100 (1 record)",
  ]);
  expect(twenty).toBeLessThan(4 * (one as number));
  expect(hundred).toBeLessThan(20 * (one as number));
  expect(bytes("a like's entry")[0]).toBeLessThan(200);
  expect(bytes("a user's index")[0]).toBeLessThan(500);
  expect(bytes("ranking member")[0]).toBeLessThan(500);
  expect(bytes("a queued event's id")[0]).toBeLessThan(300);
  // A day costs about 9 bytes: the hash stays a listpack up to 512 fields (Redis' default
  // hash-max-listpack-entries), more than HISTORY_DAYS' default of 400.
  const [day, month, , year] = bytes("a counter's history");
  expect(month).toBeLessThan(30 * 20);
  expect(year).toBeLessThan(400 * 20);
  expect(day).toBeLessThan(month as number);
});
