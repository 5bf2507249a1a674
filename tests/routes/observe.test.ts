import { describe, expect, it } from "vitest";
import { mountDocs } from "../../shared/http/docs.ts";
import { emfLine, PrometheusMetrics, type RequestRecord } from "../../shared/http/observe.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { DEFAULT_TYPES, testApp } from "../support/test-app.ts";

function observed() {
  const records: RequestRecord[] = [];
  const t = testApp(createMemoryStore(), { observe: (r) => records.push(r) });
  return { t, records };
}

describe("one record per request", () => {
  it("names the route template, status, latency and store latency", async () => {
    const { t, records } = observed();
    await t.increment({ resource_id: "o1", counter_type: "view", user_id: "u" });
    await t.get("/api/v1/counter/o1/view");
    await t.increment({ resource_id: "bad id", counter_type: "view", user_id: "u" });
    await t.get("/no/such/route");
    expect(records.map((r) => [r.method, r.route, r.status])).toEqual([
      ["POST", "/api/v1/counter/increment", 200],
      ["GET", "/api/v1/counter/{resource_id}/{counter_type}", 200],
      ["POST", "/api/v1/counter/increment", 400],
      ["GET", "unmatched", 404],
    ]);
    for (const r of records) expect(r.latency_ms).toBeGreaterThan(0);
    expect(records[0]?.store_ms).toBeGreaterThan(0);
    expect(records[0]?.store_ms).toBeLessThanOrEqual(records[0]?.latency_ms ?? 0);
    expect(records[2]?.store_ms).toBe(0);
  });

  it("records the docs' routes under their own templates, errors included", async () => {
    const { t, records } = observed();
    mountDocs(t.app, DEFAULT_TYPES);
    const missing = await t.get("/docs/assets/nope.js", { "x-request-id": "docs-1" });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-request-id")).toBe("docs-1");
    await t.get("/openapi.json");
    expect(records.map((r) => [r.route, r.status, r.request_id === "docs-1"])).toEqual([
      ["/docs/assets/{file}", 404, true],
      ["/openapi.json", 200, false],
    ]);
  });

  it("carries the caller's X-Request-Id, or a new one, back in the answer", async () => {
    const { t, records } = observed();
    const given = await t.get("/health", { "x-request-id": "trace-abc-123" });
    expect(given.headers.get("x-request-id")).toBe("trace-abc-123");
    const fresh = await t.get("/health");
    const junk = await t.get("/health", { "x-request-id": "x".repeat(200) });
    // A new id is a UUID (RFC 9562 version 8: a per-process random part and a counter).
    const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(fresh.headers.get("x-request-id")).toMatch(UUID_V8);
    expect(junk.headers.get("x-request-id")).toMatch(UUID_V8);
    expect(junk.headers.get("x-request-id")).not.toBe(fresh.headers.get("x-request-id"));
    expect(records.map((r) => r.request_id)).toEqual([
      "trace-abc-123",
      fresh.headers.get("x-request-id"),
      junk.headers.get("x-request-id"),
    ]);
  });

  it("goes to the log as one request line at info by default", async () => {
    const t = testApp(createMemoryStore());
    await t.get("/health", { "x-request-id": "log-1" });
    const line = t.logger.lines.find((l) => l.msg === "request");
    expect(line).toMatchObject({ level: "info", request_id: "log-1", route: "/health", status: 200 });
  });
});

describe("Prometheus text", () => {
  it("counts requests by method, route and status and buckets latencies", () => {
    const metrics = new PrometheusMetrics();
    const base = {
      request_id: "x",
      method: "POST",
      route: "/api/v1/counter/increment",
      latency_ms: 3,
      store_ms: 1,
    };
    metrics.record({ ...base, status: 200 });
    metrics.record({ ...base, status: 200, latency_ms: 30 });
    metrics.record({ ...base, status: 400, store_ms: 0 });
    const text = metrics.render();
    expect(text).toContain(
      'highpress_requests_total{method="POST",route="/api/v1/counter/increment",status="200"} 2',
    );
    expect(text).toContain(
      'highpress_requests_total{method="POST",route="/api/v1/counter/increment",status="400"} 1',
    );
    expect(text).toContain(
      'highpress_request_duration_seconds_bucket{route="/api/v1/counter/increment",le="0.005"} 2',
    );
    expect(text).toContain(
      'highpress_request_duration_seconds_bucket{route="/api/v1/counter/increment",le="+Inf"} 3',
    );
    expect(text).toContain('highpress_store_duration_seconds_count{route="/api/v1/counter/increment"} 2');
    expect(text).toMatch(/# TYPE highpress_request_duration_seconds histogram/);
    // No failure yet: the family is declared, with no series; no queue depth given, no gauge.
    expect(text).toContain("# TYPE highpress_store_failures_total counter");
    expect(text).not.toContain("highpress_store_failures_total{");
    expect(text).not.toContain("highpress_event_queue_depth");
  });

  it("adds up workers' counts from their snapshots, as the primary hands them to a scrape", () => {
    const record = {
      request_id: "x",
      method: "GET",
      route: "/health",
      latency_ms: 2,
      store_ms: 1,
      status: 200,
    };
    // Each process's open live streams: a gauge that adds up across them.
    const [one, two, whole] = [
      new PrometheusMetrics(() => 3),
      new PrometheusMetrics(() => 4),
      new PrometheusMetrics(),
    ];
    one.record(record);
    one.record({ ...record, status: 503, store_failure: "unavailable" });
    two.record(record);
    two.record({ ...record, route: "/metrics", latency_ms: 400 });
    whole.absorb(JSON.parse(JSON.stringify(one.snapshot())));
    whole.absorb(JSON.parse(JSON.stringify(two.snapshot())));
    const text = whole.render();
    expect(text).toContain('highpress_requests_total{method="GET",route="/health",status="200"} 2');
    expect(text).toContain('highpress_requests_total{method="GET",route="/metrics",status="200"} 1');
    expect(text).toContain('highpress_store_failures_total{route="/health",kind="unavailable"} 1');
    expect(text).toContain('highpress_request_duration_seconds_count{route="/health"} 3');
    expect(text).toContain('highpress_request_duration_seconds_bucket{route="/metrics",le="0.25"} 0');
    expect(text).toContain('highpress_request_duration_seconds_bucket{route="/metrics",le="0.5"} 1');
    expect(text).toContain('highpress_store_duration_seconds_sum{route="/health"} 0.003');
    expect(text).toContain("highpress_live_streams 7");
  });

  it("counts the store's failures by route and kind, and reports the queue depth it is given", () => {
    const metrics = new PrometheusMetrics();
    const base = {
      request_id: "x",
      method: "GET",
      route: "/health",
      latency_ms: 3,
      store_ms: 1,
      status: 503,
    };
    metrics.record({ ...base, store_failure: "refused" });
    metrics.record({ ...base, store_failure: "refused" });
    metrics.record({ ...base, store_failure: "unavailable" });
    const text = metrics.render({ queueDepth: 7 });
    expect(text).toContain('highpress_store_failures_total{route="/health",kind="refused"} 2');
    expect(text).toContain('highpress_store_failures_total{route="/health",kind="unavailable"} 1');
    expect(text).toContain("# TYPE highpress_event_queue_depth gauge\nhighpress_event_queue_depth 7\n");
  });
});

describe("CloudWatch Embedded Metric Format", () => {
  it("writes the request and its metrics in one line", () => {
    const record: RequestRecord = {
      request_id: "r1",
      method: "GET",
      route: "/health",
      status: 503,
      latency_ms: 12.5,
      store_ms: 10,
    };
    const line = JSON.parse(emfLine(record, "HighPressStack-GetFunction", 1_795_687_500_000));
    expect(line._aws.Timestamp).toBe(1_795_687_500_000);
    expect(line._aws.CloudWatchMetrics[0].Namespace).toBe("HighPress");
    expect(line._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual([
      "Requests",
      "Errors",
      "Latency",
      "StoreLatency",
    ]);
    expect(line).toMatchObject({
      Function: "HighPressStack-GetFunction",
      Route: "/health",
      Requests: 1,
      Errors: 1,
      Latency: 12.5,
      request_id: "r1",
    });
  });
});
