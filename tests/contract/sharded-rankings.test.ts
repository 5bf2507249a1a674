// Sharded rankings on the 3-node Redis Cluster of the tests: one type's ranking writes spread
// over the nodes (with one shard, one node takes them all), and the hot answer merged from
// the shards stays exact.

import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CounterStore } from "../../shared/domain/model.ts";
import { clusterBackend } from "../support/backends.ts";

const T0 = Date.parse("2026-11-25T10:15:00Z");

/** Per node, how many commands MONITOR saw that touch a ranking key of `type`. */
async function rankingCommandsPerNode(ports: number[], type: string, work: () => Promise<void>) {
  const counts = ports.map(() => 0);
  const children = ports.map((port, i) => {
    const child = spawn("redis-cli", ["-p", String(port), "monitor"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let buffer = "";
    child.stdout.on("data", (chunk) => {
      buffer += String(chunk);
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        // Calls from the client, not the commands the scripts run ("lua").
        if (!line.includes(" lua]") && line.includes(`:rank:{${type}`)) counts[i] = (counts[i] ?? 0) + 1;
      }
    });
    return child;
  });
  try {
    await new Promise((r) => setTimeout(r, 300));
    await work();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    for (const child of children) child.kill();
  }
  return counts;
}

describe("rankings on Redis Cluster", () => {
  let backend: Awaited<ReturnType<typeof clusterBackend>>;
  beforeAll(async () => {
    backend = await clusterBackend();
  }, 60_000);
  afterAll(() => backend?.stop());

  const uniform = (store: CounterStore, type: string) => async () => {
    for (let start = 0; start < 1000; start += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          store.increment({
            resourceId: `res_${start + j}`,
            type,
            kind: "total",
            userId: "u",
            delta: 1 + ((start + j) % 37),
            now: T0,
          }),
        ),
      );
    }
  };

  it("spread one type's ranking writes so that no node takes more than half of them", async () => {
    // Scripts load on first use per node (an EVALSHA refused, then an EVAL): warm them first.
    await uniform(backend.store(), "view")();
    const sharded = backend.store();
    const counts = await rankingCommandsPerNode(backend.cluster.ports, "view", uniform(sharded, "view"));
    const total = counts.reduce((a, b) => a + b, 0);
    expect(total).toBe(1000);
    expect(Math.max(...counts) / total).toBeLessThanOrEqual(0.5);

    // The same load with one shard: every ranking write on one node.
    const single = backend.store({ rankingShards: 1 });
    const one = await rankingCommandsPerNode(backend.cluster.ports, "view", uniform(single, "view"));
    expect(Math.max(...one)).toBe(1000);
  });

  it("merge the shards' tops into the exact ranking, ties by resource_id", async () => {
    const store = backend.store();
    await uniform(store, "view")();
    const expected = Array.from({ length: 1000 }, (_, i) => ({ resourceId: `res_${i}`, count: 1 + (i % 37) }))
      .sort((a, b) => b.count - a.count || (a.resourceId < b.resourceId ? -1 : 1))
      .slice(0, 100);
    for (const period of ["all", "day"] as const) {
      expect(await store.ranking({ type: "view", period, limit: 100, now: T0 })).toEqual(expected);
    }
    expect(await store.ranking({ type: "view", period: "all", limit: 5, now: T0 })).toEqual(
      expected.slice(0, 5),
    );
  });
});
