// The benchmark's HTML page: self-contained (inline SVG, no scripts, no network), so a
// reader can look at the numbers instead of reading them.

import type { ScenarioResult } from "./bench.ts";

interface Report {
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string };
  settings: { secondsPerRun: number; rounds: number; loadGenerator: string };
  goInvocationsPerSecond: number;
  scenarios: ScenarioResult[];
  hotKeyVsSpread: number;
  lambda: {
    invocations: number;
    handler: { p50: number; p99: number };
    redis: { p50: number; p99: number };
    overheadP50: number;
    goalOverheadP50: number;
  };
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Horizontal bars: one group per row, one bar per series. */
function bars(
  rows: { label: string; values: { name: string; value: number; color: string }[] }[],
  unit: string,
): string {
  const max = Math.max(1, ...rows.flatMap((r) => r.values.map((v) => v.value)));
  const barH = 18;
  const labelW = 190;
  const plotW = 520;
  let y = 10;
  const parts: string[] = [];
  for (const row of rows) {
    parts.push(`<text x="0" y="${y + barH}" font-size="13">${esc(row.label)}</text>`);
    for (const v of row.values) {
      const w = Math.max(1, (v.value / max) * plotW);
      parts.push(
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH - 3}" fill="${v.color}"><title>${esc(v.name)}: ${v.value.toFixed(1)} ${unit}</title></rect>`,
        `<text x="${labelW + w + 6}" y="${y + barH - 5}" font-size="12">${v.value.toFixed(0)} ${unit} (${esc(v.name)})</text>`,
      );
      y += barH;
    }
    y += 10;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 220}" height="${y}" role="img">${parts.join("")}</svg>`;
}

export function renderReport(r: Report): string {
  const throughput = bars(
    r.scenarios.map((s) => ({
      label: s.name,
      values: [
        { name: "floor", value: s.floorMedian.rps, color: "#9aa5b1" },
        { name: "HighPress", value: s.highpressMedian.rps, color: "#2f6fde" },
      ],
    })),
    "req/s",
  );
  const rows = r.scenarios
    .map((s) => {
      const verdict =
        s.goal === undefined ? "" : s.ratio >= s.goal ? `meets ${s.goal}x` : `<b>below ${s.goal}x</b>`;
      return `<tr><td>${esc(s.name)}</td><td>${s.connections}</td><td>${s.floorMedian.rps.toFixed(0)}</td><td>${s.highpressMedian.rps.toFixed(0)}</td><td>${s.ratio.toFixed(2)}</td><td>${verdict}</td><td>${s.highpressMedian.p50}</td><td>${s.highpressMedian.p99}</td><td>${s.floorMedian.p50} / ${s.floorMedian.p99}</td><td>${s.highpressMedian.errors}</td></tr>`;
    })
    .join("\n");
  const inc = r.scenarios.find((s) => s.name.startsWith("increment"));
  const lambda = bars(
    [
      {
        label: "p50",
        values: [
          { name: "handler", value: r.lambda.handler.p50 * 1000, color: "#2f6fde" },
          { name: "bare Redis", value: r.lambda.redis.p50 * 1000, color: "#9aa5b1" },
        ],
      },
      {
        label: "p99",
        values: [
          { name: "handler", value: r.lambda.handler.p99 * 1000, color: "#2f6fde" },
          { name: "bare Redis", value: r.lambda.redis.p99 * 1000, color: "#9aa5b1" },
        ],
      },
    ],
    "µs",
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>HighPress benchmark ${esc(r.date)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:2rem;max-width:1000px;color:#1f2933}table{border-collapse:collapse}td,th{border:1px solid #cbd2d9;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}h1{font-size:1.5rem}</style>
</head><body>
<h1>HighPress against a hand-written floor</h1>
<p>${esc(r.date)} · ${esc(r.machine.cpu)}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB · Node ${esc(r.machine.node)} ·
${r.settings.rounds} alternating rounds of ${r.settings.secondsPerRun} s per server and scenario, medians · ${esc(r.settings.loadGenerator)}.
The floor is Hono + ioredis doing the least per route (INCRBY, GET, MGET, ZREVRANGE); HighPress validates, checks
idempotency, counts distinct users and keeps four rankings in the same script. Both on one Redis, on the same machine
as the load generator.</p>
<h2>Throughput</h2>
${throughput}
<table><tr><th>scenario</th><th>conns</th><th>floor req/s</th><th>HighPress req/s</th><th>ratio</th><th>goal</th><th>p50 ms</th><th>p99 ms</th><th>floor p50/p99 ms</th><th>errors</th></tr>
${rows}
</table>
<p>Increments against the original Go service's published ${r.goInvocationsPerSecond.toLocaleString("en")}/s (its own machine):
${inc ? `${(inc.highpressMedian.rps / r.goInvocationsPerSecond).toFixed(2)}x` : "n/a"}.
Hot key (every request on one resource, 100 connections) against spread keys: ${r.hotKeyVsSpread.toFixed(2)}x (goal 0.8x).</p>
<h2>The Lambda path</h2>
<p>The built increment bundle invoked ${r.lambda.invocations} times in sequence in one process, as one Lambda instance
runs, against a bare INCRBY round trip on the same Redis (first tenth discarded as warm-up).
Overhead at p50: <b>${(r.lambda.overheadP50 * 1000).toFixed(0)} µs</b> (goal ${r.lambda.goalOverheadP50 * 1000} µs).</p>
${lambda}
</body></html>
`;
}
