// Every alarm's settings, not only its metric: threshold, comparison, periods, datapoints,
// statistic and missing data, for both store modes, stated here by hand so that a change to
// any of them (a p99 threshold of 10000 for 1000) fails a test. Plus the dashboard's name and
// the stack's outputs.

import { describe, expect, it } from "vitest";
import type { HighPressStackProps } from "../../infra/stack.ts";
import { type Json, resourcesOf, synth } from "../support/synth-stack.ts";

type Expected = [
  threshold: number,
  comparison: string,
  periods: number,
  datapoints: number | undefined,
  period: number,
  statistic: string,
];
const GE = "GreaterThanOrEqualToThreshold";
const GT = "GreaterThanThreshold";
const HTTP_FUNCTIONS = [
  "IncrementFunction",
  "GetFunction",
  "BatchFunction",
  "AdminFunction",
  "EventsFunction",
];

function expectedAlarms(store: "upstash" | "elasticache"): Record<string, Expected> {
  const table: Record<string, Expected> = {
    EventsDeadLettersAlarm: [1, GE, 1, undefined, 60, "Maximum"],
    // 5 deliveries x 180 s visibility + 5 minutes: a failing message pages once, as a dead letter.
    EventsBacklogAlarm: [1200, GT, 3, undefined, 60, "Maximum"],
    Api5xxRateAlarm: [1, GT, 5, 3, 60, "expression"],
    // The consumer's p99: 80% of its 30 s timeout.
    ConsumerFunctionErrorsAlarm: [1, GE, 3, 2, 60, "Sum"],
    ConsumerFunctionThrottlesAlarm: [1, GE, 3, 2, 60, "Sum"],
    ConsumerFunctionP99DurationAlarm: [24000, GT, 5, 3, 300, "p99"],
    // The live publisher: a queue consumer of 30 s too.
    PublishFunctionErrorsAlarm: [1, GE, 3, 2, 60, "Sum"],
    PublishFunctionThrottlesAlarm: [1, GE, 3, 2, 60, "Sum"],
    PublishFunctionP99DurationAlarm: [24000, GT, 5, 3, 300, "p99"],
    // The live watcher runs to 5 s before its 70 s timeout on purpose: 95% of it.
    WatchFunctionErrorsAlarm: [1, GE, 3, 2, 60, "Sum"],
    WatchFunctionThrottlesAlarm: [1, GE, 3, 2, 60, "Sum"],
    WatchFunctionP99DurationAlarm: [66500, GT, 5, 3, 300, "p99"],
  };
  for (const fn of HTTP_FUNCTIONS) {
    table[`${fn}ErrorsAlarm`] = [1, GE, 3, 2, 60, "Sum"];
    table[`${fn}ThrottlesAlarm`] = [1, GE, 3, 2, 60, "Sum"];
    // The store deadline (storeTimeoutMs, 1000 by default).
    table[`${fn}P99DurationAlarm`] = [1000, GT, 5, 3, 300, "p99"];
  }
  if (store === "elasticache") {
    // 80% of the ECPU ceiling (14,000: the stage's 1,000 requests/s at 14 ECPUs) and of 10 GB.
    table.CacheEcpuAlarm = [11200, GE, 5, 3, 60, "expression"];
    table.CacheThrottledAlarm = [1, GE, 3, 2, 60, "Sum"];
    table.CacheStorageAlarm = [8e9, GE, 5, 3, 60, "Maximum"];
  }
  return table;
}

function actualAlarms(props: HighPressStackProps): Record<string, Expected> {
  const alarms = resourcesOf(synth(props).template, "AWS::CloudWatch::Alarm");
  return Object.fromEntries(
    Object.entries(alarms).map(([id, { Properties: p }]) => {
      const expression = (p.Metrics as Json[] | undefined)?.find((m) => m.Expression);
      const period =
        p.Period ?? (p.Metrics as Json[] | undefined)?.find((m) => m.MetricStat)?.MetricStat.Period;
      const statistic = expression ? "expression" : (p.ExtendedStatistic ?? p.Statistic);
      expect(p.TreatMissingData, id).toBe("notBreaching");
      return [
        id.replace(/[A-F0-9]{8}$/, ""),
        [p.Threshold, p.ComparisonOperator, p.EvaluationPeriods, p.DatapointsToAlarm, period, statistic],
      ];
    }),
  );
}

describe("alarms", () => {
  it.each(["upstash", "elasticache"] as const)("have the stated settings, each of them (%s)", (store) => {
    expect(actualAlarms({ store })).toEqual(expectedAlarms(store));
  });

  it("follow the store deadline and the cache ceiling when they are set", () => {
    const actual = actualAlarms({ store: "elasticache", storeTimeoutMs: 400, cacheMaxEcpuPerSecond: 2000 });
    expect(actual.GetFunctionP99DurationAlarm?.[0]).toBe(400);
    expect(actual.ConsumerFunctionP99DurationAlarm?.[0]).toBe(24000);
    expect(actual.CacheEcpuAlarm?.[0]).toBe(1600);
  });

  it("number 27 on Upstash and 30 with ElastiCache", () => {
    expect(Object.keys(actualAlarms({}))).toHaveLength(27);
    expect(Object.keys(actualAlarms({ store: "elasticache" }))).toHaveLength(30);
  });
});

describe("the cache's ECPU ceiling", () => {
  const ceiling = (props: HighPressStackProps) =>
    Object.values(
      resourcesOf(synth({ store: "elasticache", ...props }).template, "AWS::ElastiCache::ServerlessCache"),
    )[0]?.Properties.CacheUsageLimits.ECPUPerSecond.Maximum;

  it("lets through what the stage throttle does, at 14 ECPUs a request, unless set", () => {
    expect(ceiling({})).toBe(14000);
    expect(ceiling({ throttleRate: 5000 })).toBe(70000);
    expect(ceiling({ throttleRate: 10 })).toBe(1000);
    expect(ceiling({ cacheMaxEcpuPerSecond: 3000 })).toBe(3000);
  });
});

describe("the dashboard", () => {
  it("is named after the stack and its region, so one stack name can live in two regions", () => {
    const dashboards = resourcesOf(synth({}).template, "AWS::CloudWatch::Dashboard");
    const name = JSON.stringify(Object.values(dashboards)[0]?.Properties.DashboardName);
    expect(name).toContain("AWS::Region");
    expect(name).toContain("HighPressStack");
  });
});

describe("outputs", () => {
  it("give the API URL, both queues' URLs, the dashboard's name and live counts' endpoints", () => {
    const outputs = synth({}).template.toJSON().Outputs as Record<string, Json>;
    expect(Object.keys(outputs).sort()).toEqual([
      "ApiUrl",
      "DashboardName",
      "EventsDeadLetterQueueUrl",
      "EventsQueueUrl",
      "LiveHttpHost",
      "LiveRealtimeUrl",
    ]);
    expect(JSON.stringify(outputs.EventsQueueUrl.Value)).toContain("EventsQueue");
    expect(JSON.stringify(outputs.EventsDeadLetterQueueUrl.Value)).toContain("EventsDeadLetterQueue");
    expect(JSON.stringify(outputs.DashboardName.Value)).toContain("Dashboard");
  });
});

describe("the consumer", () => {
  const mapping = (props: HighPressStackProps) =>
    Object.values(resourcesOf(synth(props).template, "AWS::Lambda::EventSourceMapping")).find((m) =>
      JSON.stringify(m.Properties.FunctionName).includes("ConsumerFunction"),
    )?.Properties;

  it("applies at most 2 batches at once by default, or consumerMaxConcurrency", () => {
    expect(mapping({})?.ScalingConfig).toEqual({ MaximumConcurrency: 2 });
    expect(mapping({ consumerMaxConcurrency: 10 })?.ScalingConfig).toEqual({ MaximumConcurrency: 10 });
  });
});

describe("Lambda's log level", () => {
  it.each(["debug", "info", "warn", "error"])(
    "follows logLevel=%s for the application, WARN for the system",
    (level) => {
      for (const fn of Object.values(
        resourcesOf(synth({ logLevel: level }).template, "AWS::Lambda::Function"),
      )) {
        if (fn.Properties.Handler !== "index.handler") continue;
        expect(fn.Properties.LoggingConfig).toMatchObject({
          LogFormat: "JSON",
          ApplicationLogLevel: level.toUpperCase(),
          SystemLogLevel: "WARN",
        });
        expect(fn.Properties.Environment.Variables.LOG_LEVEL).toBe(level);
      }
    },
  );
});
