// ElastiCache Serverless (Valkey, TLS, cluster mode) in a VPC that only the functions can
// reach: the VPC (new, or an existing one), the security groups, the Secrets Manager
// endpoint the isolated subnets need, and the cache with its snapshots and removal rule.

import { createHash } from "node:crypto";
import { CfnDeletionPolicy, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elasticache from "aws-cdk-lib/aws-elasticache";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { CACHE_LIMITS, type HighPressStackProps } from "./stack-props.ts";

export interface CounterCache {
  cache: elasticache.CfnServerlessCache;
  /** The cache's name: the `clusterId` dimension of its CloudWatch metrics. */
  name: string;
  /** Where the functions run, for their `vpc`, `vpcSubnets` and `securityGroups`. */
  network: { vpc: ec2.IVpc; vpcSubnets: ec2.SubnetSelection; securityGroups: ec2.ISecurityGroup[] };
  /** REDIS_URL and REDIS_CLUSTER of the functions. */
  environment: Record<string, string>;
  /** Lets another security group (a container service's tasks) reach the cache, as the functions do. */
  allowFrom(peer: ec2.SecurityGroup, description: string): void;
}

/** 40 characters at most, lowercase letters, digits and single hyphens, no hyphen at the end. */
const CACHE_NAME_MAX = 40;

/**
 * A name no other stack shares (a hash of the full stack name) that changes with every
 * property whose change replaces the cache, so that CloudFormation can create the
 * replacement before it deletes the old cache.
 */
export function cacheName(stack: Stack, replacing: Record<string, unknown>): string {
  const hash = createHash("sha256")
    .update(JSON.stringify([stack.stackName, stack.resolve(replacing)]))
    .digest("hex")
    .slice(0, 8);
  const base = stack.stackName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, CACHE_NAME_MAX - hash.length - 1)
    .replace(/-+$/, "");
  return `${base || "highpress"}-${hash}`;
}

/**
 * A VPC in two AZs with no NAT gateway, of the subnets asked for, its rejected traffic logged
 * (what a security review needs, at a fraction of the cost of every flow). The cache's
 * (`Vpc`) and the container service's own on Upstash (`ServiceVpc`).
 */
export function twoZoneVpc(scope: Construct, id: string, subnets: readonly ec2.SubnetType[]): ec2.Vpc {
  const names: Partial<Record<ec2.SubnetType, string>> = {
    [ec2.SubnetType.PRIVATE_ISOLATED]: "private",
    [ec2.SubnetType.PUBLIC]: "public",
  };
  const vpc = new ec2.Vpc(scope, id, {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: subnets.map((subnetType) => ({
      name: names[subnetType] ?? subnetType,
      subnetType,
      cidrMask: 24,
    })),
  });
  vpc.addFlowLog("FlowLog", {
    trafficType: ec2.FlowLogTrafficType.REJECT,
    destination: ec2.FlowLogDestination.toCloudWatchLogs(
      new logs.LogGroup(scope, `${id}FlowLogs`, {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    ),
  });
  return vpc;
}

/** Isolated subnets for the cache and the functions; public ones too for a container service's load balancer and tasks. */
function newVpc(scope: Construct, publicSubnets: boolean): ec2.Vpc {
  return twoZoneVpc(scope, "Vpc", [
    ec2.SubnetType.PRIVATE_ISOLATED,
    ...(publicSubnets ? [ec2.SubnetType.PUBLIC] : []),
  ]);
}

function vpcOf(scope: Construct, props: HighPressStackProps): ec2.IVpc {
  const existing = props.existingVpc;
  if (!existing) return newVpc(scope, (props.target ?? "lambda") !== "lambda");
  return ec2.Vpc.fromVpcAttributes(scope, "Vpc", {
    vpcId: existing.vpcId,
    availabilityZones: existing.availabilityZones,
    isolatedSubnetIds: existing.privateSubnetIds,
    ...(existing.cidr ? { vpcCidrBlock: existing.cidr } : {}),
  });
}

/** The AWS services a function in the VPC may call, each reached through an interface endpoint. */
export type VpcService = "secretsmanager" | "sqs";

const ENDPOINT_SERVICES: Record<VpcService, ec2.InterfaceVpcEndpointAwsService> = {
  secretsmanager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
};

/** The context key that says a service's endpoint is already in the VPC. */
export const ENDPOINT_CONTEXT: Record<VpcService, "secretsEndpoint" | "sqsEndpoint"> = {
  secretsmanager: "secretsEndpoint",
  sqs: "sqsEndpoint",
};

/**
 * Isolated subnets have no route out, so the functions reach each AWS service they call
 * through an interface endpoint (cheaper than a NAT gateway: about $7.30 a month per AZ
 * against $32.85 plus $0.045 per GB). A VPC that has one already with private DNS cannot
 * take a second (`secretsEndpoint=existing`, `sqsEndpoint=existing`): the functions may then
 * reach 443 inside the VPC's own range, where that endpoint lives.
 */
function serviceEndpoint(
  scope: Construct,
  network: { vpc: ec2.IVpc; subnets: ec2.SelectedSubnets; functionsSg: ec2.SecurityGroup },
  service: VpcService,
  props: HighPressStackProps,
): void {
  const { vpc, subnets, functionsSg } = network;
  if (props[ENDPOINT_CONTEXT[service]] === "existing") {
    functionsSg.addEgressRule(
      ec2.Peer.ipv4(vpc.vpcCidrBlock),
      ec2.Port.tcp(443),
      "functions to the VPC's own interface endpoints",
    );
    return;
  }
  const id = service === "sqs" ? "Sqs" : "SecretsManager";
  const endpointSg = new ec2.SecurityGroup(scope, `${id}EndpointSecurityGroup`, {
    vpc,
    description: `${id} endpoint: reachable from the functions only`,
    allowAllOutbound: false,
  });
  endpointSg.addIngressRule(functionsSg, ec2.Port.tcp(443), `functions to ${id}`);
  functionsSg.addEgressRule(endpointSg, ec2.Port.tcp(443), `functions to ${id}`);
  vpc.addInterfaceEndpoint(`${id}Endpoint`, {
    service: ENDPOINT_SERVICES[service],
    subnets,
    securityGroups: [endpointSg],
    open: false,
  });
}

/**
 * ServerlessCache takes no `DeletionPolicy: Snapshot` (CloudFormation's DeletionPolicy
 * attribute page lists the types that do); its own FinalSnapshotName takes the snapshot
 * when CloudFormation deletes it.
 */
function applyRemoval(cache: elasticache.CfnServerlessCache, name: string, props: HighPressStackProps): void {
  const removal = props.cacheRemoval ?? "snapshot";
  if (removal === "retain") {
    cache.applyRemovalPolicy(RemovalPolicy.RETAIN);
    return;
  }
  cache.cfnOptions.deletionPolicy = CfnDeletionPolicy.DELETE;
  cache.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.DELETE;
  if (removal === "snapshot") cache.finalSnapshotName = `${name}-final`;
}

/** The cache, its network, and what the functions need to reach it. */
export function counterCache(
  scope: Construct,
  props: HighPressStackProps,
  services: ReadonlySet<VpcService>,
): CounterCache {
  const vpc = vpcOf(scope, props);
  const subnets = vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
  const functionsSg = new ec2.SecurityGroup(scope, "FunctionsSecurityGroup", {
    vpc,
    description: "HighPress functions",
    allowAllOutbound: false,
  });
  const cacheSg = new ec2.SecurityGroup(scope, "CacheSecurityGroup", {
    vpc,
    description: "HighPress cache: reachable from the functions only",
    allowAllOutbound: false,
  });
  // 6379: the endpoint; 6380: the reader endpoint of ElastiCache Serverless.
  cacheSg.addIngressRule(functionsSg, ec2.Port.tcpRange(6379, 6380), "functions to the cache");
  functionsSg.addEgressRule(cacheSg, ec2.Port.tcpRange(6379, 6380), "functions to the cache");
  for (const service of services) serviceEndpoint(scope, { vpc, subnets, functionsSg }, service, props);

  const replacing = { engine: "valkey", subnetIds: subnets.subnetIds };
  const name = cacheName(Stack.of(scope), replacing);
  const cache = new elasticache.CfnServerlessCache(scope, "Cache", {
    ...replacing,
    majorEngineVersion: "8",
    serverlessCacheName: name,
    description: "HighPress counters",
    securityGroupIds: [cacheSg.securityGroupId],
    cacheUsageLimits: {
      dataStorage: { maximum: cacheMaxStorageGb(props), unit: "GB" },
      ecpuPerSecond: { maximum: cacheMaxEcpuPerSecond(props) },
    },
    snapshotRetentionLimit:
      props.cacheSnapshotRetentionDays ?? CACHE_LIMITS.cacheSnapshotRetentionDays.fallback,
  });
  applyRemoval(cache, name, props);
  return {
    cache,
    name,
    network: { vpc, vpcSubnets: { subnets: subnets.subnets }, securityGroups: [functionsSg] },
    environment: {
      REDIS_URL: `rediss://${cache.attrEndpointAddress}:${cache.attrEndpointPort}`,
      REDIS_CLUSTER: "true",
    },
    allowFrom: (peer, description) => {
      cacheSg.addIngressRule(peer, ec2.Port.tcpRange(6379, 6380), description);
      peer.addEgressRule(cacheSg, ec2.Port.tcpRange(6379, 6380), description);
    },
  };
}

export const cacheMaxStorageGb = (props: HighPressStackProps) =>
  props.cacheMaxStorageGb ?? CACHE_LIMITS.cacheMaxStorageGb.fallback;

/**
 * ECPUs one request may cost at most: a single increment's script takes about 21.7 µs of
 * Redis time, and ElastiCache bills about 1 ECPU per 1.5 µs (a SET), so about 14
 * (docs/performance.md). Batches and queued events cost fewer per increment.
 */
export const ECPU_PER_REQUEST = 14;

/** The stage's steady rate (throttleRate, default 1000/s). */
export const stageThrottleRate = (props: HighPressStackProps) => props.throttleRate ?? 1000;

/**
 * The cache's ECPU ceiling: as given, or what the stage throttle lets through at
 * ECPU_PER_REQUEST each, rounded up to a thousand, so the stage throttles before the cache does.
 */
export function cacheMaxEcpuPerSecond(props: HighPressStackProps): number {
  if (props.cacheMaxEcpuPerSecond !== undefined) return props.cacheMaxEcpuPerSecond;
  const { min, max } = CACHE_LIMITS.cacheMaxEcpuPerSecond;
  const needed = Math.ceil((stageThrottleRate(props) * ECPU_PER_REQUEST) / 1000) * 1000;
  return Math.min(max, Math.max(min, needed));
}
