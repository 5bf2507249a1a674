// The container target (`-c target=fargate` or `both`): the local server's image on ECS
// Fargate (Graviton) behind an Application Load Balancer. Tasks run in public subnets with
// public addresses and take traffic from the load balancer only (no NAT gateway: they reach
// Upstash, ECR, Secrets Manager and CloudWatch Logs directly); on ElastiCache they share the
// cache's VPC and reach it as the functions do. Scales on CPU and on requests per task; the
// load balancer waits the server's drain (SHUTDOWN_TIMEOUT_MS) before it drops a task.

import { join } from "node:path";
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { SETTINGS } from "../shared/runtime/settings.ts";
import { type CounterCache, twoZoneVpc } from "./cache.ts";
import { REQUESTS_PER_TARGET_PER_MINUTE, TASK } from "./service-shape.ts";
import type { HighPressStackProps } from "./stack-props.ts";

const ROOT = join(import.meta.dirname, "..");
const PORT = 8080;
/** The server's drain (SHUTDOWN_TIMEOUT_MS's default): the load balancer's deregistration delay. */
export const DRAIN_MS = Number(SETTINGS.find((s) => s.variable === "SHUTDOWN_TIMEOUT_MS")?.fallback);
/** ECS sends SIGKILL this long after SIGTERM: past the drain. */
const STOP_TIMEOUT = Duration.seconds(30);
export const FARGATE_TASKS = { min: TASK.minTasks, max: 10 } as const;

export interface ContainerService {
  service: ecs.FargateService;
  loadBalancer: elbv2.ApplicationLoadBalancer;
  targetGroup: elbv2.ApplicationTargetGroup;
  url: string;
}

/** The service's own VPC in Upstash mode: public subnets in two AZs, no NAT gateway. */
const serviceVpc = (scope: Construct): ec2.IVpc => twoZoneVpc(scope, "ServiceVpc", [ec2.SubnetType.PUBLIC]);

/** The task: the image built from the repository's Dockerfile (arm64), its settings and secrets, JSON logs. */
function taskDefinition(
  scope: Construct,
  environment: Record<string, string>,
  secrets: Record<string, secretsmanager.ISecret>,
): ecs.FargateTaskDefinition {
  const task = new ecs.FargateTaskDefinition(scope, "ServiceTask", {
    cpu: TASK.vcpu * 1024,
    memoryLimitMiB: TASK.memoryGb * 1024,
    runtimePlatform: {
      cpuArchitecture: ecs.CpuArchitecture.ARM64,
      operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
    },
  });
  const logGroup = new logs.LogGroup(scope, "ServiceLogs", {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  task.addContainer("server", {
    image: ecs.ContainerImage.fromAsset(ROOT, { platform: Platform.LINUX_ARM64 }),
    environment: {
      ...environment,
      HOST: "0.0.0.0",
      PORT: String(PORT),
      WORKERS: String(TASK.vcpu),
      REQUEST_LOG: "emf",
    },
    secrets: Object.fromEntries(
      Object.entries(secrets).map(([name, s]) => [name, ecs.Secret.fromSecretsManager(s)]),
    ),
    // FireLens's Fluent Bit ships the lines with `json/emf`: CloudWatch extracts each request's metrics.
    logging: ecs.LogDrivers.firelens({
      options: {
        Name: "cloudwatch_logs",
        region: Stack.of(scope).region,
        log_group_name: logGroup.logGroupName,
        log_stream_prefix: "server/",
        log_format: "json/emf",
        auto_create_group: "false",
      },
    }),
    portMappings: [{ containerPort: PORT }],
    stopTimeout: STOP_TIMEOUT,
    healthCheck: {
      command: [
        "CMD",
        "node",
        "-e",
        `fetch('http://127.0.0.1:${PORT}/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
      ],
      interval: Duration.seconds(10),
      timeout: Duration.seconds(3),
      startPeriod: Duration.seconds(10),
      retries: 3,
    },
  });
  logGroup.grantWrite(task.taskRole);
  Validations.of(task).acknowledge({
    id: "AwsSolutions-ECS2",
    reason:
      "The variables are the service's settings (the settings table: limits, types, the store's address); the keys and the token come from Secrets Manager as container secrets.",
  });
  const executionRole = task.obtainExecutionRole();
  Validations.of(executionRole).acknowledge({
    id: "AwsSolutions-IAM5[Resource::*]",
    reason:
      "ecr:GetAuthorizationToken, which pulling the image needs, supports no resource-level permission.",
  });
  return task;
}

/** The load balancer: HTTPS with the certificate given (HTTP then redirects), else HTTP. */
function loadBalancer(scope: Construct, vpc: ec2.IVpc, props: HighPressStackProps) {
  const lb = new elbv2.ApplicationLoadBalancer(scope, "ServiceLoadBalancer", {
    vpc,
    internetFacing: true,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    dropInvalidHeaderFields: true,
  });
  Validations.of(lb).acknowledge({
    id: "AwsSolutions-ELB2",
    reason:
      "Every request is logged by the server itself, as a JSON line with its route, status and latency, in the service's log group.",
  });
  Validations.of(lb).acknowledge({
    id: "AwsSolutions-EC23",
    reason:
      "The load balancer is the public API: it takes HTTP(S) from anywhere, and the tasks take traffic from it alone.",
  });
  const listener = props.certificateArn
    ? lb.addListener("ServiceHttps", {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      })
    : lb.addListener("ServiceHttp", { port: 80, protocol: elbv2.ApplicationProtocol.HTTP });
  if (props.certificateArn) lb.addRedirect({ sourcePort: 80, targetPort: 443 });
  const url = `${props.certificateArn ? "https" : "http"}://${lb.loadBalancerDnsName}`;
  return { lb, listener, url };
}

/** Scales between the context's bounds on CPU (the cost model's target) and on requests a task. */
function autoscale(
  service: ecs.FargateService,
  targetGroup: elbv2.ApplicationTargetGroup,
  props: HighPressStackProps,
) {
  const scaling = service.autoScaleTaskCount({
    minCapacity: props.fargateMinTasks ?? FARGATE_TASKS.min,
    maxCapacity: props.fargateMaxTasks ?? FARGATE_TASKS.max,
  });
  scaling.scaleOnCpuUtilization("ServiceCpuScaling", {
    targetUtilizationPercent: TASK.targetUtilization * 100,
  });
  scaling.scaleOnRequestCount("ServiceRequestScaling", {
    requestsPerTarget: REQUESTS_PER_TARGET_PER_MINUTE,
    targetGroup,
  });
}

/** The service, its load balancer and scaling, and the URL clients use. */
export function containerService(
  scope: Construct,
  props: HighPressStackProps,
  options: {
    cache: CounterCache | undefined;
    environment: Record<string, string>;
    secrets: Record<string, secretsmanager.ISecret>;
  },
): ContainerService {
  const vpc = options.cache?.network.vpc ?? serviceVpc(scope);
  const cluster = new ecs.Cluster(scope, "ServiceCluster", {
    vpc,
    containerInsightsV2: ecs.ContainerInsights.ENABLED,
  });
  const { lb, listener, url } = loadBalancer(scope, vpc, props);
  const tasksSg = new ec2.SecurityGroup(scope, "ServiceTasksSecurityGroup", {
    vpc,
    description: "HighPress service tasks: from the load balancer only",
    allowAllOutbound: false,
  });
  // Out: 443 (Upstash, ECR, Secrets Manager, CloudWatch Logs); the cache as the functions reach it.
  tasksSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), "HTTPS to AWS and Upstash");
  if (options.cache) options.cache.allowFrom(tasksSg, "service tasks to the cache");
  const service = new ecs.FargateService(scope, "Service", {
    cluster,
    taskDefinition: taskDefinition(scope, options.environment, options.secrets),
    desiredCount: props.fargateMinTasks ?? FARGATE_TASKS.min,
    assignPublicIp: true,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    securityGroups: [tasksSg],
    minHealthyPercent: 100,
    circuitBreaker: { rollback: true },
  });
  const targetGroup = listener.addTargets("ServiceTargets", {
    port: PORT,
    protocol: elbv2.ApplicationProtocol.HTTP,
    targets: [service],
    healthCheck: {
      path: "/health",
      interval: Duration.seconds(10),
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 3,
    },
    deregistrationDelay: Duration.millis(DRAIN_MS),
  });
  autoscale(service, targetGroup, props);
  new CfnOutput(scope, "ServiceUrl", {
    value: url,
    description: "Base URL of the container service (the load balancer)",
  });
  return { service, loadBalancer: lb, targetGroup, url };
}
