// Alarms an operator can trust and the dashboard beside them: the API's 5xx rate (only
// with enough requests to mean something), each function's errors, throttles and p99, the
// cache's ECPU, throttling and storage, and an encrypted topic CloudWatch can publish to.

import { Aws, Duration, Fn, RemovalPolicy, Stack } from "aws-cdk-lib";
import type * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";
import type { CounterFunction } from "./counter-function.ts";
import type { ContainerService } from "./fargate.ts";
import { serviceAlarms, serviceWidgets } from "./service-monitoring.ts";
import type { HighPressStackProps } from "./stack-props.ts";

const PERIOD = Duration.minutes(1);

/** Below this many requests in a minute the 5xx rate is not judged: 1 error in 3 requests at 4 a.m. does not page. */
export const ALARM_MIN_REQUESTS_PER_MINUTE = 50;

/** Cache alarms fire at this share of a configured ceiling. */
const CACHE_ALARM_SHARE = 0.8;

/** The cache as the alarms see it: its name and its configured ceilings. */
export interface CacheLimits {
  name: string;
  maxEcpuPerSecond: number;
  maxStorageGb: number;
}

/**
 * A new topic for `alarmEmail`. The AWS-managed SNS key cannot be used by CloudWatch
 * (https://github.com/aws/aws-cdk/issues/11121), so the topic has its own key whose policy
 * lets CloudWatch encrypt to it, and a topic policy that lets CloudWatch publish from this
 * account only (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html,
 * "Amazon SNS topics with server-side encryption").
 */
function alarmTopic(scope: Construct, email: string): sns.Topic {
  const cloudwatchService = new iam.ServicePrincipal("cloudwatch.amazonaws.com");
  // Deleted with the stack: KMS holds it for the pending window (7 days, the shortest) first.
  const key = new kms.Key(scope, "AlarmTopicKey", {
    description: "Encrypts the HighPress alarm topic; CloudWatch may use it to publish alarms",
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "AllowCloudWatchAlarmsToEncrypt",
      principals: [cloudwatchService],
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      resources: ["*"],
    }),
  );
  const topic = new sns.Topic(scope, "AlarmTopic", {
    displayName: "HighPress alarms",
    enforceSSL: true,
    masterKey: key,
  });
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "AllowCloudWatchAlarmsToPublish",
      principals: [cloudwatchService],
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(scope).account } },
    }),
  );
  topic.addSubscription(new subscriptions.EmailSubscription(email));
  return topic;
}

const alarmDefaults = {
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
} as const;

function apiMetrics(api: apigwv2.HttpApi) {
  const requests = api.metricCount({ period: PERIOD, statistic: "Sum" });
  const errors5xx = api.metricServerError({ period: PERIOD, statistic: "Sum" });
  const errorRate = new cloudwatch.MathExpression({
    expression: `IF(requests >= ${ALARM_MIN_REQUESTS_PER_MINUTE}, 100 * errors / requests, 0)`,
    usingMetrics: { requests, errors: errors5xx },
    period: PERIOD,
    label: `5xx rate (%), judged from ${ALARM_MIN_REQUESTS_PER_MINUTE} requests a minute`,
  });
  return { requests, errors5xx, errorRate };
}

/**
 * The p99 duration that alarms, per function: an HTTP function's answers wait at most the
 * store deadline (storeTimeoutMs, 1 s by default); the consumers' batches take about a second
 * each, so they alarm at 80% of their timeout, before batches start timing out; the live
 * watcher runs to 5 s before its deadline on purpose, so it alarms at 95%, when a watch ran
 * into that margin.
 */
export function p99AlarmMs(fn: CounterFunction, props: HighPressStackProps): number {
  if (fn.runsToDeadline) return Math.round(fn.timeoutDuration.toMilliseconds() * 0.95);
  if (fn.queueConsumer) return Math.round(fn.timeoutDuration.toMilliseconds() * 0.8);
  return props.storeTimeoutMs ?? 1000;
}

function functionAlarms(
  scope: Construct,
  functions: Record<string, CounterFunction>,
  props: HighPressStackProps,
): cloudwatch.Alarm[] {
  return Object.entries(functions).flatMap(([fid, fn]) => [
    fn.metricErrors({ period: PERIOD, statistic: "Sum" }).createAlarm(scope, `${fid}ErrorsAlarm`, {
      ...alarmDefaults,
      alarmDescription: `${fid} failed invocations (errors the function did not answer itself)`,
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    }),
    fn.metricThrottles({ period: PERIOD, statistic: "Sum" }).createAlarm(scope, `${fid}ThrottlesAlarm`, {
      ...alarmDefaults,
      alarmDescription: `${fid} invocations throttled by Lambda concurrency limits`,
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    }),
    fn
      .metricDuration({ period: Duration.minutes(5), statistic: "p99" })
      .createAlarm(scope, `${fid}P99DurationAlarm`, {
        ...alarmDefaults,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription: fn.runsToDeadline
          ? `${fid} p99 duration above ${p99AlarmMs(fn, props)} ms (95% of its timeout: past the watch's margin) for 3 of 5 periods`
          : fn.queueConsumer
            ? `${fid} p99 duration above ${p99AlarmMs(fn, props)} ms (80% of its timeout) for 3 of 5 periods`
            : `${fid} p99 duration above ${p99AlarmMs(fn, props)} ms (the store deadline) for 3 of 5 periods`,
        threshold: p99AlarmMs(fn, props),
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
      }),
  ]);
}

/** ElastiCache Serverless metrics, dimension `clusterId` (the cache's name). */
function cacheMetric(cache: CacheLimits, metricName: string, statistic: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: "AWS/ElastiCache",
    metricName,
    dimensionsMap: { clusterId: cache.name },
    period: PERIOD,
    statistic,
  });
}

function cacheMetrics(cache: CacheLimits) {
  const ecpu = cacheMetric(cache, "ElastiCacheProcessingUnits", "Sum");
  return {
    ecpuPerSecond: new cloudwatch.MathExpression({
      expression: `ecpu / ${PERIOD.toSeconds()}`,
      usingMetrics: { ecpu },
      period: PERIOD,
      label: "ECPU per second",
    }),
    throttled: cacheMetric(cache, "ThrottledCmds", "Sum"),
    bytesUsed: cacheMetric(cache, "BytesUsedForCache", "Maximum"),
    readLatency: cacheMetric(cache, "SuccessfulReadRequestLatency", "p99"),
    writeLatency: cacheMetric(cache, "SuccessfulWriteRequestLatency", "p99"),
  };
}

function cacheAlarms(scope: Construct, cache: CacheLimits): cloudwatch.Alarm[] {
  const metrics = cacheMetrics(cache);
  const percent = Math.round(CACHE_ALARM_SHARE * 100);
  return [
    metrics.ecpuPerSecond.createAlarm(scope, "CacheEcpuAlarm", {
      ...alarmDefaults,
      alarmDescription: `Cache ECPU use above ${percent}% of its ceiling (${cache.maxEcpuPerSecond}/s) for 3 of 5 minutes: raise cacheMaxEcpuPerSecond before commands are throttled`,
      threshold: Math.floor(cache.maxEcpuPerSecond * CACHE_ALARM_SHARE),
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    }),
    metrics.throttled.createAlarm(scope, "CacheThrottledAlarm", {
      ...alarmDefaults,
      alarmDescription: "Cache commands throttled (ceiling reached or scaling too fast) in 2 of 3 minutes",
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    }),
    metrics.bytesUsed.createAlarm(scope, "CacheStorageAlarm", {
      ...alarmDefaults,
      alarmDescription: `Cache data above ${percent}% of its ${cache.maxStorageGb} GB ceiling: writes fail when it is full`,
      threshold: Math.floor(cache.maxStorageGb * 1e9 * CACHE_ALARM_SHARE),
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    }),
  ];
}

/** The app's own EMF metrics (shared/http/observe.ts), per function. */
function appMetricWidgets(functions: Record<string, CounterFunction>): cloudwatch.IWidget[] {
  const metric = (fn: CounterFunction, metricName: string, statistic: string) =>
    new cloudwatch.Metric({
      namespace: "HighPress",
      metricName,
      dimensionsMap: { Function: fn.functionName },
      period: PERIOD,
      statistic,
    });
  const all = Object.values(functions);
  return [
    new cloudwatch.GraphWidget({
      title: "HighPress: requests and 5xx answers (EMF)",
      left: all.map((fn) => metric(fn, "Requests", "Sum")),
      right: all.map((fn) => metric(fn, "Errors", "Sum")),
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: "HighPress: p99 latency and store latency, ms (EMF)",
      left: all.map((fn) => metric(fn, "Latency", "p99")),
      right: all.map((fn) => metric(fn, "StoreLatency", "p99")),
      width: 12,
    }),
  ];
}

function functionWidgets(functions: Record<string, CounterFunction>): cloudwatch.IWidget[] {
  return Object.entries(functions).map(
    ([fid, fn]) =>
      new cloudwatch.GraphWidget({
        title: `${fid}: invocations, errors, throttles; p99 duration`,
        left: [
          fn.metricInvocations({ period: PERIOD }),
          fn.metricErrors({ period: PERIOD }),
          fn.metricThrottles({ period: PERIOD }),
        ],
        right: [fn.metricDuration({ period: PERIOD, statistic: "p99" })],
        width: 8,
      }),
  );
}

function cacheWidgets(cache: CacheLimits): cloudwatch.IWidget[] {
  const metrics = cacheMetrics(cache);
  return [
    new cloudwatch.GraphWidget({
      title: `Cache: ECPU per second (ceiling ${cache.maxEcpuPerSecond}) and throttled commands`,
      left: [metrics.ecpuPerSecond],
      right: [metrics.throttled],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: `Cache: bytes used (ceiling ${cache.maxStorageGb} GB)`,
      left: [metrics.bytesUsed],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: "Cache: p99 read and write latency, µs",
      left: [metrics.readLatency, metrics.writeLatency],
      width: 8,
    }),
  ];
}

export interface MonitoringInputs {
  /** The HTTP API and the functions (target lambda or both; none with target fargate). */
  api?: apigwv2.HttpApi;
  functions: Record<string, CounterFunction>;
  /** The container service (target fargate or both). */
  service?: ContainerService;
  cache?: CacheLimits;
  /** Alarms made elsewhere (the events queue's) that notify the same topic. */
  extraAlarms?: cloudwatch.Alarm[];
}

/** The API's 5xx rate alarm. */
function apiAlarm(scope: Construct, httpApi: apigwv2.HttpApi): cloudwatch.Alarm {
  return apiMetrics(httpApi).errorRate.createAlarm(scope, "Api5xxRateAlarm", {
    ...alarmDefaults,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    alarmDescription: `More than 1% of requests answered 5xx for 3 of the last 5 minutes (minutes with fewer than ${ALARM_MIN_REQUESTS_PER_MINUTE} requests count as fine)`,
    threshold: 1,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
  });
}

/** The API's row of the dashboard: requests and errors, latency. */
function apiWidgets(httpApi: apigwv2.HttpApi): cloudwatch.IWidget[] {
  const api = apiMetrics(httpApi);
  return [
    new cloudwatch.GraphWidget({
      title: "API requests and errors",
      left: [api.requests, httpApi.metricClientError({ period: PERIOD, statistic: "Sum" }), api.errors5xx],
      right: [api.errorRate],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: "API latency",
      left: [
        httpApi.metricLatency({ period: PERIOD, statistic: "p50" }),
        httpApi.metricLatency({ period: PERIOD, statistic: "p99" }),
      ],
      width: 12,
    }),
  ];
}

/** Alarms (to the topic, when there is one) and the dashboard, which it returns. */
export function monitoring(
  scope: Construct,
  props: HighPressStackProps,
  inputs: MonitoringInputs,
): cloudwatch.Dashboard {
  const topic = props.alarmTopicArn
    ? sns.Topic.fromTopicArn(scope, "AlarmTopic", props.alarmTopicArn)
    : props.alarmEmail
      ? alarmTopic(scope, props.alarmEmail)
      : undefined;
  const alarms = [
    ...(inputs.api ? [apiAlarm(scope, inputs.api)] : []),
    ...functionAlarms(scope, inputs.functions, props),
    ...(inputs.service ? serviceAlarms(scope, inputs.service, props) : []),
    ...(inputs.cache ? cacheAlarms(scope, inputs.cache) : []),
    ...(inputs.extraAlarms ?? []),
  ];
  if (topic) for (const alarm of alarms) alarm.addAlarmAction(new actions.SnsAction(topic));
  // Dashboards are global per account: the region in the name lets one stack name live in two.
  return new cloudwatch.Dashboard(scope, "Dashboard", {
    dashboardName: Fn.join("-", [Stack.of(scope).stackName, Aws.REGION, "highpress"]),
    widgets: [
      ...(inputs.api ? [apiWidgets(inputs.api)] : []),
      ...(inputs.service ? [serviceWidgets(inputs.service)] : []),
      appMetricWidgets(inputs.functions),
      functionWidgets(inputs.functions),
      ...(inputs.cache ? [cacheWidgets(inputs.cache)] : []),
      [new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms, width: 24 })],
    ],
  });
}
