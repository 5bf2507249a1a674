// `npm run export` and `npm run import` as a user runs them: counters exported from a real
// Redis into a file, imported into the Upstash endpoint (the tools' own processes) and into
// the memory store, twice, ending equal: counts, members and all-time rankings.

import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { importCounters } from "../../infra/tools/data/counters-file.ts";
import type { CounterStore } from "../../shared/domain/model.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { createRedisClient, createRedisStore, type RedisClient } from "../../shared/stores/redis.ts";
import { createUpstashClient, createUpstashStore } from "../../shared/stores/upstash.ts";
import { collect } from "../contract/store-contract.ts";
import { runNode } from "../support/node-process.ts";
import { type RedisServer, startRedis } from "../support/redis-server.ts";
import { DEFAULT_TYPES } from "../support/test-app.ts";
import { startUpstashEndpoint, type UpstashEndpoint } from "../support/upstash-endpoint.ts";

const T0 = Date.parse("2026-11-25T10:15:00Z");
let source: RedisServer;
let target: RedisServer;
let upstash: UpstashEndpoint;
let client: RedisClient;
let from: CounterStore;
let dir: string;

beforeAll(async () => {
  source = await startRedis();
  target = await startRedis();
  upstash = await startUpstashEndpoint(target.url);
  client = createRedisClient(source.url, false, 2000);
  from = createRedisStore(client, { keyPrefix: "src", timeoutMs: 2000 });
  dir = mkdtempSync(join(tmpdir(), "hp-data-"));
  for (let i = 0; i < 40; i++) {
    const now = T0;
    await from.increment({
      resourceId: `post_${i}`,
      type: "view",
      kind: "total",
      userId: `u${i % 7}`,
      delta: i + 1,
      now,
    });
    for (let u = 0; u < i % 5; u++)
      await from.increment({
        resourceId: `post_${i}`,
        type: "like",
        kind: "unique",
        userId: `user_${u}`,
        delta: 1,
        now,
      });
  }
}, 30_000);
afterAll(async () => {
  client.disconnect();
  await upstash.close();
  await source.stop();
  await target.stop();
  rmSync(dir, { recursive: true, force: true });
});

const tool = async (args: string[], env: Record<string, string>) => {
  const run = await runNode(args, { LOG_LEVEL: "warn", ...env });
  const code = await run.exited;
  return { code, output: run.output() };
};
const top = async (s: CounterStore, type: string) => s.ranking({ type, period: "all", limit: 100, now: T0 });

it("export from Redis, import into Upstash and the memory store, twice: the same counters and rankings", async () => {
  const file = join(dir, "counters.ndjson");
  const exported = await tool(["infra/tools/data/export.ts", "--out", file], {
    REDIS_URL: source.url,
    KEY_PREFIX: "src",
  });
  expect(exported.code, exported.output).toBe(0);
  expect(exported.output).toContain("exported 72 counters, done");
  const lines = readFileSync(file, "utf8").trim().split("\n");
  expect(lines).toHaveLength(72); // 40 views, 32 like counters with members
  expect(JSON.parse(lines.find((l) => l.includes('"like"')) ?? "{}")).toHaveProperty("users");
  // Each counter's days go along (all of this fixture's were written on T0's day).
  expect(lines).toContain(
    '{"resource_id":"post_3","counter_type":"view","count":4,"history":{"2026-11-25":4}}',
  );

  const upstashEnv = {
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    KEY_PREFIX: "dst",
  };
  for (let run = 0; run < 2; run++) {
    const imported = await tool(["infra/tools/data/import.ts", file], upstashEnv);
    expect(imported.code, imported.output).toBe(0);
    expect(imported.output).toContain("imported 72 counters, done");
  }
  const into = createUpstashStore(createUpstashClient(upstash.url, upstash.token, 2000), {
    keyPrefix: "dst",
    timeoutMs: 2000,
  });
  const memory = createMemoryStore();
  for (let run = 0; run < 2; run++) await importCounters(memory, createReadStream(file), DEFAULT_TYPES);

  const expected = await collect(from.exportCounters({ members: true }));
  for (const store of [into, memory]) {
    expect(await collect(store.exportCounters({ members: true }))).toEqual(expected);
    expect(await top(store, "view")).toEqual(await top(from, "view"));
    expect(await top(store, "like")).toEqual(await top(from, "like"));
    const [member] = await store.read([
      { resourceId: "post_4", type: "like", kind: "unique", detail: true, userId: "user_3" },
    ]);
    expect(member).toEqual({ count: 4, member: true });
  }
});

it("export without members, and refuse such a file's unique counters line by line", async () => {
  const file = join(dir, "counts.ndjson");
  const exported = await tool(["infra/tools/data/export.ts", "--out", file, "--no-members"], {
    REDIS_URL: source.url,
    KEY_PREFIX: "src",
  });
  expect(exported.code).toBe(0);
  expect(readFileSync(file, "utf8")).not.toContain("users");
  const imported = await tool(["infra/tools/data/import.ts", file], {
    REDIS_URL: target.url,
    KEY_PREFIX: "nomembers",
  });
  expect(imported.code).toBe(1);
  expect(imported.output).toMatch(/line \d+: users: required for the unique type like/);
  expect(imported.output).toContain("imported 40 counters, done");
  expect(imported.output).toContain("32 bad lines skipped");
});

it("report each bad line by number, import the good ones, and exit 1", async () => {
  const file = join(dir, "bad.ndjson");
  writeFileSync(
    file,
    [
      '{"resource_id":"ok_1","counter_type":"view","count":5}',
      "not json",
      '{"resource_id":"a b","counter_type":"view","count":1}',
      '{"resource_id":"ok_2","counter_type":"nope","count":1}',
      '{"resource_id":"ok_3","counter_type":"view","count":-1}',
      '{"resource_id":"ok_4","counter_type":"like","count":2,"users":["u1"]}',
      "",
      '{"resource_id":"ok_5","counter_type":"like","count":1,"users":["u1"]}',
      // The same counters again: never merged with the lines before (disjoint users would make a count that matches neither).
      '{"resource_id":"ok_1","counter_type":"view","count":99}',
      '{"resource_id":"ok_5","counter_type":"like","count":1,"users":["u2"]}',
      '{"resource_id":"ok_6","counter_type":"view","count":1,"history":{"2026-13-01":1}}',
      '{"resource_id":"ok_7","counter_type":"view","count":1,"history":{"2026-11-25":1.5}}',
      '{"resource_id":"ok_8","counter_type":"view","count":1,"history":[1]}',
    ].join("\n"),
  );
  const imported = await tool(["infra/tools/data/import.ts", file], {
    REDIS_URL: target.url,
    KEY_PREFIX: "bad",
  });
  expect(imported.code).toBe(1);
  for (const [line, problem] of [
    [2, "not JSON"],
    [3, "resource_id:"],
    [4, "counter_type: must be one of"],
    [5, "count: must be an integer"],
    [6, "count: 2, but 1 distinct users"],
    [9, "resource_id ok_1, counter_type view: already on line 1"],
    [10, "resource_id ok_5, counter_type like: already on line 8"],
    [11, "history: must be an object of dates to integer changes"],
    [12, "history: must be an object of dates to integer changes"],
    [13, "history: must be an object of dates to integer changes"],
  ] as const) {
    expect(imported.output).toContain(`line ${line}: ${problem}`);
  }
  expect(imported.output).toContain("imported 2 counters, done");
  const check = createRedisClient(target.url, false, 2000);
  const store = createRedisStore(check, { keyPrefix: "bad", timeoutMs: 2000 });
  expect(
    (await collect(store.exportCounters({ members: true }))).map((r) => `${r.resourceId}:${r.count}`),
  ).toEqual(["ok_5:1", "ok_1:5"]);
  check.disconnect();
});

it("refuse the memory store with one line naming COUNTER_STORE, exit 2, and write no file", async () => {
  const file = join(dir, "from-memory.ndjson");
  const exported = await tool(["infra/tools/data/export.ts", "--out", file], { COUNTER_STORE: "memory" });
  expect(exported.code).toBe(2);
  expect(exported.output.trim().split("\n")).toHaveLength(1);
  expect(exported.output).toMatch(/^export: the memory store .*COUNTER_STORE=redis/);
  expect(existsSync(file)).toBe(false);
  writeFileSync(file, '{"resource_id":"gone","counter_type":"view","count":1}\n');
  const imported = await tool(["infra/tools/data/import.ts", file], {});
  expect(imported.code).toBe(2);
  expect(imported.output).toMatch(/^import: the memory store .*COUNTER_STORE/);
});

it("say 'counter' for one counter", async () => {
  const file = join(dir, "one.ndjson");
  writeFileSync(file, '{"resource_id":"only_one","counter_type":"view","count":3}\n');
  const imported = await tool(["infra/tools/data/import.ts", file], {
    REDIS_URL: target.url,
    KEY_PREFIX: "one",
  });
  expect(imported.code).toBe(0);
  expect(imported.output).toContain("imported 1 counter, done");
});
