// What the app records of each request, and the two places it goes besides the log:
// Prometheus text for the local server's /metrics, and CloudWatch Embedded Metric Format
// lines on Lambda (one line: the request log and its metrics together).

// A type, not an interface: it is passed as log fields, a Record<string, unknown>.
/**
 * How the store failed a request (a 503): it answered and refused it (out of memory,
 * read-only...), or it did not answer (unreachable, or past STORE_TIMEOUT_MS).
 */
export type StoreFailure = "refused" | "unavailable";

export type RequestRecord = {
  request_id: string;
  method: string;
  /** The route template (`/api/v1/counter/{resource_id}/{counter_type}`), or `unmatched`. */
  route: string;
  status: number;
  latency_ms: number;
  /** Time spent waiting on the store; 0 when the request never reached it. */
  store_ms: number;
  /** A 503 the store caused: whether it refused the request or did not answer. */
  store_failure?: StoreFailure;
};

const BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

class Histogram {
  readonly counts = new Array<number>(BUCKETS_S.length).fill(0);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < BUCKETS_S.length; i++)
      if (seconds <= (BUCKETS_S[i] as number)) (this.counts[i] as number)++;
  }
}

const quote = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** A process's metrics as plain data, to be sent between processes (node:cluster's IPC). */
export interface MetricsSnapshot {
  requests: { key: string; labels: string; count: number }[];
  storeFailures: { key: string; labels: string; count: number }[];
  latency: { route: string; counts: number[]; sum: number; count: number }[];
  storeLatency: { route: string; counts: number[]; sum: number; count: number }[];
  /** Live streams open in the process when the snapshot was taken. */
  liveStreams: number;
}

/**
 * Prometheus metrics kept in process: requests by method, route and status; latencies by
 * route. Recording is on every request's path, so series are found by plain keys and their
 * labels are escaped once, when the series is first seen.
 */
export class PrometheusMetrics {
  private readonly requests = new Map<string, { labels: string; count: number }>();
  private readonly latency = new Map<string, Histogram>();
  private readonly storeLatency = new Map<string, Histogram>();
  private readonly storeFailures = new Map<string, { labels: string; count: number }>();
  /** Live streams open in other processes, from their snapshots. */
  private absorbedStreams = 0;

  private readonly liveStreams: () => number;

  /** `liveStreams`: the streams this process holds open now (a gauge read at each scrape). */
  constructor(liveStreams: () => number = () => 0) {
    this.liveStreams = liveStreams;
  }

  record(r: RequestRecord): void {
    const key = `${r.method} ${r.status} ${r.route}`;
    const series = this.requests.get(key);
    if (series) series.count++;
    else {
      const labels = `method="${quote(r.method)}",route="${quote(r.route)}",status="${r.status}"`;
      this.requests.set(key, { labels, count: 1 });
    }
    this.histogram(this.latency, r.route).observe(r.latency_ms / 1000);
    if (r.store_ms > 0) this.histogram(this.storeLatency, r.route).observe(r.store_ms / 1000);
    if (r.store_failure) this.count(this.storeFailures, r.route, r.store_failure);
  }

  /** What this process counted, as plain data: another process adds it to its own (`absorb`). */
  snapshot(): MetricsSnapshot {
    const histograms = (map: Map<string, Histogram>) =>
      [...map].map(([route, h]) => ({ route, counts: [...h.counts], sum: h.sum, count: h.count }));
    return {
      requests: [...this.requests].map(([key, v]) => ({ key, ...v })),
      storeFailures: [...this.storeFailures].map(([key, v]) => ({ key, ...v })),
      latency: histograms(this.latency),
      storeLatency: histograms(this.storeLatency),
      liveStreams: this.liveStreams(),
    };
  }

  /** Adds another process's counts (a worker's snapshot) to these. */
  absorb(other: MetricsSnapshot): void {
    const counters = (
      map: Map<string, { labels: string; count: number }>,
      rows: MetricsSnapshot["requests"],
    ) => {
      for (const { key, labels, count } of rows) {
        const series = map.get(key);
        if (series) series.count += count;
        else map.set(key, { labels, count });
      }
    };
    const histograms = (map: Map<string, Histogram>, rows: MetricsSnapshot["latency"]) => {
      for (const row of rows) {
        const h = this.histogram(map, row.route);
        row.counts.forEach((n, i) => {
          h.counts[i] = (h.counts[i] as number) + n;
        });
        h.sum += row.sum;
        h.count += row.count;
      }
    };
    counters(this.requests, other.requests);
    counters(this.storeFailures, other.storeFailures);
    histograms(this.latency, other.latency);
    histograms(this.storeLatency, other.storeLatency);
    this.absorbedStreams += other.liveStreams;
  }

  private count(map: Map<string, { labels: string; count: number }>, route: string, kind: string): void {
    const key = `${kind} ${route}`;
    const series = map.get(key);
    if (series) series.count++;
    else map.set(key, { labels: `route="${quote(route)}",kind="${kind}"`, count: 1 });
  }

  private histogram(map: Map<string, Histogram>, route: string): Histogram {
    let h = map.get(route);
    if (!h) {
      h = new Histogram();
      map.set(route, h);
    }
    return h;
  }

  /** The metrics in Prometheus' text format; `queueDepth`, when known, as a gauge. */
  render(gauges: { queueDepth?: number } = {}): string {
    const lines = [
      "# HELP highpress_requests_total Requests answered, by method, route and status.",
      "# TYPE highpress_requests_total counter",
      ...[...this.requests.values()].map((s) => `highpress_requests_total{${s.labels}} ${s.count}`),
      "# HELP highpress_store_failures_total Requests the store failed (503), by route and kind: refused or unavailable.",
      "# TYPE highpress_store_failures_total counter",
      ...[...this.storeFailures.values()].map(
        (s) => `highpress_store_failures_total{${s.labels}} ${s.count}`,
      ),
    ];
    lines.push(
      "# HELP highpress_live_streams Live streams (GET …/live) open now.",
      "# TYPE highpress_live_streams gauge",
      `highpress_live_streams ${this.liveStreams() + this.absorbedStreams}`,
    );
    if (gauges.queueDepth !== undefined) {
      lines.push(
        "# HELP highpress_event_queue_depth Queued events' messages waiting in the local event queue.",
        "# TYPE highpress_event_queue_depth gauge",
        `highpress_event_queue_depth ${gauges.queueDepth}`,
      );
    }
    const histogram = (name: string, help: string, map: Map<string, Histogram>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      for (const [route, h] of map) {
        const labels = `route="${quote(route)}"`;
        for (let i = 0; i < BUCKETS_S.length; i++)
          lines.push(`${name}_bucket{${labels},le="${BUCKETS_S[i]}"} ${h.counts[i]}`);
        lines.push(
          `${name}_bucket{${labels},le="+Inf"} ${h.count}`,
          `${name}_sum{${labels}} ${h.sum}`,
          `${name}_count{${labels}} ${h.count}`,
        );
      }
    };
    histogram("highpress_request_duration_seconds", "Time to answer a request, by route.", this.latency);
    histogram(
      "highpress_store_duration_seconds",
      "Time spent waiting on the store per request, by route.",
      this.storeLatency,
    );
    return `${lines.join("\n")}\n`;
  }
}

/** One CloudWatch EMF line per request: the request log with Requests, Errors, Latency and StoreLatency. */
export function emfLine(r: RequestRecord, functionName: string, now = Date.now()): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: "HighPress",
          Dimensions: [["Function"], ["Function", "Route"]],
          Metrics: [
            { Name: "Requests", Unit: "Count" },
            { Name: "Errors", Unit: "Count" },
            { Name: "Latency", Unit: "Milliseconds" },
            { Name: "StoreLatency", Unit: "Milliseconds" },
          ],
        },
      ],
    },
    // Lambda files and filters a JSON line by these two: a 5xx is an error, so it (and its
    // metrics) stays under logLevel=warn or error, where the other requests' records are dropped.
    level: r.status >= 500 ? "error" : "info",
    timestamp: new Date(now).toISOString(),
    msg: "request",
    Function: functionName,
    Route: r.route,
    Requests: 1,
    Errors: r.status >= 500 ? 1 : 0,
    Latency: r.latency_ms,
    StoreLatency: r.store_ms,
    ...r,
  });
}
