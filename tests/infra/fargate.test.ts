// The container target in the stack (-c target=fargate|both): the service on Graviton with
// the task the cost model prices, the image's port and health check, its settings and its
// secrets from Secrets Manager, the load balancer (HTTPS with a certificate), the drain
// matched by the deregistration delay, scaling on CPU and requests, the network on each
// store, the alarms and the dashboard; and the context it refuses.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DRAIN_MS } from "../../infra/fargate.ts";
import { REQUESTS_PER_TARGET_PER_MINUTE, TASK } from "../../infra/service-shape.ts";
import type { HighPressStackProps } from "../../infra/stack.ts";
import {
  API_KEYS_ARN,
  counterFunctions,
  EXISTING_VPC,
  type Json,
  type Resource,
  resourcesOf,
  synth,
} from "../support/synth-stack.ts";

const CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-def012345678";
const only = <T>(values: T[]): T => {
  expect(values).toHaveLength(1);
  return values[0] as T;
};
const one = (template: ReturnType<typeof synth>["template"], type: string): Resource =>
  only(Object.values(resourcesOf(template, type)));

describe("target=fargate on Upstash", () => {
  const { template } = synth({
    target: "fargate",
    apiKeysSecret: API_KEYS_ARN,
    fargateMinTasks: 3,
    fargateMaxTasks: 12,
  });

  it("serves without API Gateway or the counter functions", () => {
    expect(Object.keys(resourcesOf(template, "AWS::ApiGatewayV2::Api"))).toEqual([]);
    expect(Object.keys(counterFunctions(template))).toEqual([]);
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(["DashboardName", "ServiceUrl"]);
  });

  it("runs the image on Graviton with the task the cost model prices, its port, health check and stop time", () => {
    const task = one(template, "AWS::ECS::TaskDefinition").Properties;
    expect(task.RuntimePlatform).toEqual({ CpuArchitecture: "ARM64", OperatingSystemFamily: "LINUX" });
    expect([Number(task.Cpu), Number(task.Memory)]).toEqual([TASK.vcpu * 1024, TASK.memoryGb * 1024]);
    const container = (task.ContainerDefinitions as Json[]).find((c) => c.Name === "server");
    const dockerfile = readFileSync("Dockerfile", "utf8");
    expect(dockerfile).toContain(`EXPOSE ${container.PortMappings[0].ContainerPort}`);
    expect(container.HealthCheck.Command.join(" ")).toContain(
      `127.0.0.1:${container.PortMappings[0].ContainerPort}/health`,
    );
    // ECS kills 30 s after SIGTERM: past the server's drain.
    expect(container.StopTimeout * 1000).toBeGreaterThan(DRAIN_MS);
    const env = Object.fromEntries((container.Environment as Json[]).map((e) => [e.Name, e.Value]));
    expect(env).toMatchObject({
      HOST: "0.0.0.0",
      PORT: "8080",
      WORKERS: String(TASK.vcpu),
      COUNTER_STORE: "upstash",
    });
    const secrets = (container.Secrets as Json[]).map((s) => s.Name).sort();
    expect(secrets).toEqual(["API_KEYS", "UPSTASH_REDIS_REST_TOKEN"]);
    expect(JSON.stringify(container.Secrets)).toContain("highpress/api-keys");
  });

  it("puts the tasks behind the load balancer only, health-checked on /health, drained as the server drains", () => {
    const group = one(template, "AWS::ElasticLoadBalancingV2::TargetGroup").Properties;
    expect(group.HealthCheckPath).toBe("/health");
    const delay = (group.TargetGroupAttributes as Json[]).find(
      (a) => a.Key === "deregistration_delay.timeout_seconds",
    );
    expect(Number(delay.Value) * 1000).toBe(DRAIN_MS);
    const service = one(template, "AWS::ECS::Service").Properties;
    expect(service.DesiredCount).toBe(3);
    expect(service.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe("ENABLED");
    const ingress = Object.values(resourcesOf(template, "AWS::EC2::SecurityGroupIngress")).map(
      (r) => r.Properties,
    );
    const toTasks = ingress.filter((i) => JSON.stringify(i.GroupId).includes("ServiceTasksSecurityGroup"));
    expect(toTasks.map((i) => [i.FromPort, JSON.stringify(i.SourceSecurityGroupId)])).toEqual([
      [8080, expect.stringContaining("ServiceLoadBalancerSecurityGroup")],
    ]);
    const listener = one(template, "AWS::ElasticLoadBalancingV2::Listener").Properties;
    expect([listener.Port, listener.Protocol]).toEqual([80, "HTTP"]);
  });

  it("scales between the context's bounds on CPU and on requests a task", () => {
    const target = one(template, "AWS::ApplicationAutoScaling::ScalableTarget").Properties;
    expect([target.MinCapacity, target.MaxCapacity]).toEqual([3, 12]);
    const policies = Object.values(resourcesOf(template, "AWS::ApplicationAutoScaling::ScalingPolicy")).map(
      (p) => p.Properties.TargetTrackingScalingPolicyConfiguration,
    );
    const byMetric = Object.fromEntries(
      policies.map((c) => [c.PredefinedMetricSpecification.PredefinedMetricType, c.TargetValue]),
    );
    expect(byMetric).toEqual({
      ECSServiceAverageCPUUtilization: TASK.targetUtilization * 100,
      ALBRequestCountPerTarget: REQUESTS_PER_TARGET_PER_MINUTE,
    });
  });

  it("alarms on the service's 5xx rate, p99 response time and unhealthy tasks, with a dashboard row", () => {
    const alarms = Object.entries(resourcesOf(template, "AWS::CloudWatch::Alarm")).map(([id, a]) => [
      id.replace(/[A-F0-9]{8}$/, ""),
      a.Properties.Threshold,
    ]);
    expect(Object.fromEntries(alarms)).toEqual({
      Service5xxRateAlarm: 1,
      ServiceP99LatencyAlarm: 1,
      ServiceUnhealthyTasksAlarm: 1,
    });
    const body = JSON.stringify(one(template, "AWS::CloudWatch::Dashboard").Properties.DashboardBody);
    expect(body).toContain("Service requests and 5xx");
    expect(body).toContain("TargetResponseTime");
  });

  it("ships the server's EMF lines through FireLens, which CloudWatch extracts metrics from", () => {
    const containers = one(template, "AWS::ECS::TaskDefinition").Properties.ContainerDefinitions as Json[];
    const server = containers.find((c) => c.Name === "server");
    const router = containers.find((c) => c.FirelensConfiguration);
    expect(router?.FirelensConfiguration.Type).toBe("fluentbit");
    expect(server.LogConfiguration).toMatchObject({
      LogDriver: "awsfirelens",
      Options: { Name: "cloudwatch_logs", log_format: "json/emf", auto_create_group: "false" },
    });
    const env = Object.fromEntries((server.Environment as Json[]).map((e) => [e.Name, e.Value]));
    expect(env.REQUEST_LOG).toBe("emf");
    const group = JSON.stringify(server.LogConfiguration.Options.log_group_name);
    expect(group).toContain("ServiceLogs");
  });
});

describe("target=both on ElastiCache, with a certificate", () => {
  const props: HighPressStackProps = { target: "both", store: "elasticache", certificateArn: CERT };
  const { template } = synth(props);

  it("keeps the functions and adds the service in the cache's VPC, which gains public subnets", () => {
    expect(Object.keys(counterFunctions(template))).toHaveLength(8);
    const subnets = Object.values(resourcesOf(template, "AWS::EC2::Subnet")).map(
      (s) => s.Properties.MapPublicIpOnLaunch,
    );
    expect(subnets.filter((p) => p === true)).toHaveLength(2);
    const ingress = Object.values(resourcesOf(template, "AWS::EC2::SecurityGroupIngress")).map(
      (r) => r.Properties,
    );
    const toCache = ingress.filter((i) => JSON.stringify(i.GroupId).includes("CacheSecurityGroup"));
    expect(toCache.map((i) => JSON.stringify(i.SourceSecurityGroupId)).sort()).toEqual([
      expect.stringContaining("FunctionsSecurityGroup"),
      expect.stringContaining("ServiceTasksSecurityGroup"),
    ]);
    const container = (
      one(template, "AWS::ECS::TaskDefinition").Properties.ContainerDefinitions as Json[]
    ).find((c) => c.Name === "server");
    const env = Object.fromEntries((container.Environment as Json[]).map((e) => [e.Name, e.Value]));
    expect(env.REDIS_CLUSTER).toBe("true");
  });

  it("answers HTTPS with the certificate and redirects HTTP", () => {
    const listeners = Object.values(resourcesOf(template, "AWS::ElasticLoadBalancingV2::Listener")).map(
      (l) => l.Properties,
    );
    const https = listeners.find((l) => l.Port === 443);
    expect(https?.Protocol).toBe("HTTPS");
    expect(https?.Certificates).toEqual([{ CertificateArn: CERT }]);
    expect(listeners.find((l) => l.Port === 80)?.DefaultActions[0].Type).toBe("redirect");
    expect(JSON.stringify(template.toJSON().Outputs.ServiceUrl.Value)).toContain("https://");
  });
});

describe("the container target's context", () => {
  it.each<[HighPressStackProps, RegExp]>([
    [{ target: "ecs" as never }, /: target: must be lambda, fargate or both/],
    [
      { target: "fargate", fargateMinTasks: 5, fargateMaxTasks: 2 },
      /: fargateMaxTasks: must be an integer from fargateMinTasks \(5\)/,
    ],
    [{ target: "fargate", fargateMinTasks: 0 }, /: fargateMinTasks: must be an integer from 1/],
    [{ target: "fargate", certificateArn: "cert-1" }, /: certificateArn: must be an ACM certificate ARN/],
    [
      { target: "both", store: "elasticache", existingVpc: EXISTING_VPC },
      /: target: both with an existing VPC is not supported/,
    ],
  ])("refuses %j, naming it", (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});
