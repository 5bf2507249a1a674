// The Grafana dashboard in the repo (infra/grafana/dashboard.json) against what the local
// server's /metrics really exports: every metric a query names is a family /metrics declares,
// a histogram's series are read with their suffixes, and the dashboard covers request rate,
// latency, errors, store latency and failures, and the event queue's depth.

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type NodeProcess, runNode } from "../support/node-process.ts";
import { freePort } from "../support/redis-server.ts";

interface Panel {
  title: string;
  targets: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync("infra/grafana/dashboard.json", "utf8")) as {
  panels: Panel[];
  templating: { list: { query: string }[] };
};
const queries = [
  ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr }))),
  ...dashboard.templating.list.map((v) => ({ panel: "variable", expr: v.query })),
];
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

let server: NodeProcess;
let metrics: string;
beforeAll(async () => {
  const port = await freePort();
  server = await runNode(
    ["shared/runtime/server.ts"],
    { HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "info" },
    "highpress listening",
  );
  const base = `http://127.0.0.1:${port}`;
  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  await post("/api/v1/counter/increment", { resource_id: "g", counter_type: "view", user_id: "u" });
  await post("/api/v1/counter/events", {
    events: [{ resource_id: "g", counter_type: "view", user_id: "u" }],
  });
  metrics = await (await fetch(`${base}/metrics`)).text();
}, 30_000);
afterAll(() => {
  server.process.kill("SIGTERM");
});

/** Each family /metrics declares, with its type. */
const families = () => new Map([...metrics.matchAll(/^# TYPE (\S+) (\w+)$/gm)].map((m) => [m[1], m[2]]));

it("names in every query only metrics /metrics exports, histograms by their series", () => {
  const declared = families();
  for (const { panel, expr } of queries) {
    const names = expr.match(/highpress_[a-z_]+/g) ?? [];
    expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
    for (const name of names) {
      const family = name.replace(HISTOGRAM_SERIES, "");
      const type = declared.get(family) ?? declared.get(name);
      expect(type, `${panel}: ${name} is not exported`).toBeDefined();
      // A histogram is queried through its series; a counter or gauge by its own name.
      expect(type === "histogram", `${panel}: ${name}`).toBe(family !== name);
    }
  }
});

it("covers request rate, latency, errors, store latency and failures, and the queue's depth", () => {
  const used = new Set(
    queries.flatMap(({ expr }) =>
      (expr.match(/highpress_[a-z_]+/g) ?? []).map((n) => n.replace(HISTOGRAM_SERIES, "")),
    ),
  );
  expect([...used].sort()).toEqual([...families().keys()].sort());
  const exprs = queries.map((q) => q.expr).join("\n");
  expect(exprs).toMatch(
    /histogram_quantile\(0\.99, sum by \(le\) \(rate\(highpress_request_duration_seconds_bucket/,
  );
  expect(exprs).toMatch(/highpress_requests_total\{status=~"5\.\."/);
  expect(exprs).toContain("highpress_event_queue_depth");
});
