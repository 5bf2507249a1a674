// The container service's alarms and dashboard row, beside the functions' (monitoring.ts):
// the load balancer's 5xx rate and p99 response time (judged as the API's: 1% of requests,
// the store deadline), tasks the load balancer finds unhealthy, and the tasks' CPU.

import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type { Construct } from "constructs";
import type { ContainerService } from "./fargate.ts";
import type { HighPressStackProps } from "./stack-props.ts";

const PERIOD = Duration.minutes(1);
const alarmDefaults = {
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
} as const;

function serviceMetrics(service: ContainerService) {
  const m = service.loadBalancer.metrics;
  const requests = m.requestCount({ period: PERIOD, statistic: "Sum" });
  const errors5xx = service.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
    period: PERIOD,
    statistic: "Sum",
  });
  const errorRate = new cloudwatch.MathExpression({
    expression: "IF(requests >= 10, 100 * errors / requests, 0)",
    usingMetrics: { requests, errors: errors5xx },
    period: PERIOD,
    label: "service 5xx rate (%)",
  });
  const latency = (statistic: string) => m.targetResponseTime({ period: PERIOD, statistic });
  return { requests, errors5xx, errorRate, latency };
}

export function serviceAlarms(
  scope: Construct,
  service: ContainerService,
  props: HighPressStackProps,
): cloudwatch.Alarm[] {
  const metrics = serviceMetrics(service);
  const deadlineS = (props.storeTimeoutMs ?? 1000) / 1000;
  return [
    metrics.errorRate.createAlarm(scope, "Service5xxRateAlarm", {
      ...alarmDefaults,
      alarmDescription:
        "The container service answered more than 1% of requests with 5xx for 3 of the last 5 minutes",
      threshold: 1,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    }),
    metrics.latency("p99").createAlarm(scope, "ServiceP99LatencyAlarm", {
      ...alarmDefaults,
      alarmDescription: `The container service's p99 response time above ${deadlineS} s (the store deadline) for 3 of 5 minutes`,
      threshold: deadlineS,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    }),
    service.targetGroup.metrics
      .unhealthyHostCount({ period: PERIOD, statistic: "Maximum" })
      .createAlarm(scope, "ServiceUnhealthyTasksAlarm", {
        ...alarmDefaults,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: "A task failed the load balancer's /health check for 3 of 5 minutes",
        threshold: 1,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
      }),
  ];
}

export function serviceWidgets(service: ContainerService): cloudwatch.IWidget[] {
  const metrics = serviceMetrics(service);
  return [
    new cloudwatch.GraphWidget({
      title: "Service requests and 5xx",
      left: [metrics.requests, metrics.errors5xx],
      right: [metrics.errorRate],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: "Service response time (s)",
      left: [metrics.latency("p50"), metrics.latency("p99")],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: "Service tasks' CPU and memory (%)",
      left: [
        service.service.metricCpuUtilization({ period: PERIOD }),
        service.service.metricMemoryUtilization({ period: PERIOD }),
      ],
      width: 8,
    }),
  ];
}
