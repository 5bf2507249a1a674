// What a HighPress stack can be asked for, and the check that refuses a stack that would
// deploy broken: every problem is named at synth, before CloudFormation sees anything.

import type { StackProps } from "aws-cdk-lib";
import { ConfigError } from "../shared/domain/errors.ts";
import { loadConfig } from "../shared/runtime/config.ts";
import { CONTEXT_SETTINGS, type ContextKey, type ContextValues } from "../shared/runtime/settings.ts";

export type StoreMode = "upstash" | "elasticache";

/** What happens to the cache when the stack is deleted (or the cache replaced). */
export type CacheRemoval = "retain" | "snapshot" | "destroy";

/**
 * What the stack is asked for: its own choices below, and the app's settings (ContextValues,
 * from the settings table: counterTypes, keyPrefix, historyDays... as the functions'
 * environment, defaults as the service's; see .env.example).
 */
export interface HighPressStackProps extends StackProps, ContextValues {
  /** Where counters live. Default upstash. */
  store?: StoreMode;
  /** Upstash REST URL. Default: the UpstashRestUrl parameter, asked at deploy. */
  upstashUrl?: string;
  /** Secret holding the Upstash token, by name or ARN. Default: the UpstashTokenSecretArn parameter. */
  upstashTokenSecret?: string;
  /** Secret holding the API keys accepted on writes (JSON array or comma-separated). Default: writes open, and synth warns. */
  apiKeysSecret?: string;
  /** Secret holding the admin keys (JSON array or comma-separated), read by the admin function only. Default: no admin routes (404). */
  adminKeysSecret?: string;
  /** A customer-managed KMS key (ARN) that encrypts the secrets; the functions may decrypt with it through Secrets Manager only. */
  secretsKmsKey?: string;
  /** An existing VPC for ElastiCache mode (DNS hostnames and DNS support on); default: a new VPC with two AZs and no NAT gateway. */
  existingVpc?: { vpcId: string; availabilityZones: string[]; privateSubnetIds: string[]; cidr?: string };
  /** `existing`: the VPC already has a Secrets Manager interface endpoint with private DNS; do not create one. Default create. */
  secretsEndpoint?: "create" | "existing";
  /** `existing`: the VPC already has an SQS interface endpoint with private DNS; do not create one. Default create. */
  sqsEndpoint?: "create" | "existing";
  /** The most consumer batches applied at once (2-1000, SQS's bounds). Default 2: one store, and the API keeps the account's concurrency. */
  consumerMaxConcurrency?: number;
  /** Stage throttling: steady requests per second and burst. Default 1000 and 2000. */
  throttleRate?: number;
  throttleBurst?: number;
  /** Origins allowed by CORS; default none (no CORS). */
  corsOrigins?: string[];
  /** Alarms notify this address (a new encrypted SNS topic), or this existing topic. Default: alarms only. */
  alarmEmail?: string;
  alarmTopicArn?: string;
  /** ElastiCache Serverless limits, a ceiling on its bill. Default 10 GB, and the ECPUs the stage throttle lets through (14,000/s at 1000 rps). */
  cacheMaxStorageGb?: number;
  cacheMaxEcpuPerSecond?: number;
  /** Daily snapshots kept, 0 (none) to 35. Default 7. */
  cacheSnapshotRetentionDays?: number;
  /** Default snapshot: a final snapshot is taken when the cache is deleted. */
  cacheRemoval?: CacheRemoval;
  /** Ship source maps and run with --enable-source-maps (slower cold starts). Default false. */
  sourceMaps?: boolean;
  /** Lambda active tracing (X-Ray). Default false. */
  tracing?: boolean;
  /**
   * What serves the API: `lambda` (API Gateway and the functions), `fargate` (the server's
   * container on ECS behind a load balancer: for steady traffic, docs/deploy.md "Which
   * target when"), or `both`. Default lambda.
   */
  target?: DeployTarget;
  /** The container service's tasks: at least, and at most. Default 2 and 10. */
  fargateMinTasks?: number;
  fargateMaxTasks?: number;
  /** An ACM certificate (ARN) for the load balancer: HTTPS on 443, HTTP redirected. Default HTTP only. */
  certificateArn?: string;
}

export type DeployTarget = "lambda" | "fargate" | "both";

/**
 * ElastiCache Serverless usage limits: 1,000-15,000,000 ECPU per second
 * (https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ECPUPerSecond.html),
 * 1-5,000 GB of data (.../API_DataStorage.html); daily snapshots kept up to 35 days
 * (.../API_CreateServerlessCache.html, SnapshotRetentionLimit).
 */
export const CACHE_LIMITS = {
  cacheMaxEcpuPerSecond: { min: 1_000, max: 15_000_000 },
  cacheMaxStorageGb: { min: 1, max: 5_000, fallback: 10 },
  cacheSnapshotRetentionDays: { min: 0, max: 35, fallback: 7 },
} as const;

/** An SQS event source's maximum concurrency: 2 to 1,000 (Lambda's ScalingConfig). */
export const CONSUMER_CONCURRENCY = { min: 2, max: 1_000, fallback: 2 } as const;

/** The app settings the stack passes on (the settings table's, with a context key): their context keys. */
export type AppSettingKey = ContextKey;

/** Each app setting by its context key, and the variable the app reads: from the settings table. */
const APP_SETTINGS: Record<AppSettingKey, string> = Object.fromEntries(
  CONTEXT_SETTINGS.map((s) => [s.where.context, s.variable]),
) as Record<AppSettingKey, string>;

/** The app settings given to the stack, as the functions' environment variables. */
export function appSettingsEnvironment(props: HighPressStackProps): Record<string, string> {
  const environment: Record<string, string> = { LOG_LEVEL: "info" };
  for (const [key, variable] of Object.entries(APP_SETTINGS)) {
    const value = props[key as AppSettingKey];
    if (value !== undefined) environment[variable] = String(value);
  }
  return environment;
}

/**
 * The app's own parser judges the settings, so a value that synthesises also starts. The
 * keys live in a secret read at run time; a stand-in takes their place here so that rules
 * that depend on them (READ_AUTH needs keys) are judged as they will be on Lambda.
 */
function appSettingProblems(props: HighPressStackProps): string[] {
  const contextName = Object.fromEntries(Object.entries(APP_SETTINGS).map(([k, v]) => [v, k]));
  try {
    loadConfig({
      ...appSettingsEnvironment(props),
      COUNTER_STORE: "memory",
      API_KEYS: props.apiKeysSecret ? "stand-in-for-the-keys-in-the-secret" : undefined,
    });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((problem) => {
      const variable = problem.split(":")[0] ?? "";
      const key = contextName[variable];
      if (variable === "READ_AUTH" && key) return "readAuth: needs apiKeysSecret, or no one could read";
      return key ? `${key}: ${problem.slice(variable.length + 2)} (${variable})` : problem;
    });
  }
}

function rangeProblems(props: HighPressStackProps): string[] {
  const problems: string[] = [];
  for (const [key, { min, max }] of Object.entries(CACHE_LIMITS)) {
    const value = props[key as keyof typeof CACHE_LIMITS];
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      problems.push(`${key}: must be an integer from ${min} to ${max}, got ${value}`);
    }
  }
  const concurrency = props.consumerMaxConcurrency;
  if (
    concurrency !== undefined &&
    !(
      Number.isInteger(concurrency) &&
      concurrency >= CONSUMER_CONCURRENCY.min &&
      concurrency <= CONSUMER_CONCURRENCY.max
    )
  ) {
    problems.push(
      `consumerMaxConcurrency: must be an integer from ${CONSUMER_CONCURRENCY.min} to ${CONSUMER_CONCURRENCY.max}, got ${concurrency}`,
    );
  }
  for (const key of ["throttleRate", "throttleBurst"] as const) {
    const value = props[key];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      problems.push(`${key}: must be a positive integer, got ${value}`);
    }
  }
  return problems;
}

function networkProblems(props: HighPressStackProps): string[] {
  const problems: string[] = [];
  const vpc = props.existingVpc;
  if (vpc && (vpc.availabilityZones.length < 2 || vpc.privateSubnetIds.length < 2)) {
    problems.push(
      `vpcId: needs at least 2 availability zones and 2 private subnets (ElastiCache Serverless and Lambda spread over AZs), got ${vpc.availabilityZones.length} and ${vpc.privateSubnetIds.length}`,
    );
  }
  if (vpc && vpc.availabilityZones.length !== vpc.privateSubnetIds.length) {
    problems.push("privateSubnetIds: give one subnet per availability zone in vpcAzs, in the same order");
  }
  for (const key of ["secretsEndpoint", "sqsEndpoint"] as const) {
    if (props[key] === "existing" && !vpc) {
      problems.push(`${key}: existing needs an existing VPC (vpcId); a new VPC has no endpoint`);
    }
    if (props[key] === "existing" && vpc && !vpc.cidr) {
      problems.push(`vpcCidr: needed with ${key}=existing, to let the functions reach that endpoint`);
    }
  }
  if (props.existingVpc && (props.store ?? "upstash") !== "elasticache") {
    problems.push("vpcId: only ElastiCache mode runs in a VPC (store=elasticache)");
  }
  return problems;
}

function otherProblems(props: HighPressStackProps): string[] {
  const problems: string[] = [];
  if (props.alarmEmail && props.alarmTopicArn)
    problems.push("alarmEmail: give alarmEmail or alarmTopicArn, not both");
  if (
    props.secretsKmsKey &&
    !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(props.secretsKmsKey)
  ) {
    problems.push(
      `secretsKmsKey: must be a KMS key ARN (arn:aws:kms:region:account:key/id), got ${props.secretsKmsKey}`,
    );
  }
  if (
    props.secretsKmsKey &&
    props.store === "elasticache" &&
    !props.apiKeysSecret &&
    !props.adminKeysSecret
  ) {
    problems.push(
      "secretsKmsKey: no secret to decrypt in ElastiCache mode without apiKeysSecret or adminKeysSecret",
    );
  }
  if (props.cacheRemoval && !["retain", "snapshot", "destroy"].includes(props.cacheRemoval)) {
    problems.push(`cacheRemoval: must be retain, snapshot or destroy, got ${props.cacheRemoval}`);
  }
  return problems;
}

/** The shape each free-text context value must have, and how the problem is said. */
const FORMATS: {
  key: string;
  values: (p: HighPressStackProps) => (string | undefined)[];
  pattern: RegExp;
  must: string;
}[] = [
  {
    key: "corsOrigins",
    values: (p) => p.corsOrigins ?? [],
    // An origin is scheme://host[:port], nothing after; or * for any.
    pattern: /^(\*|https?:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?)$/,
    must: "each must be an origin like https://app.example.com (scheme, host, optional port; no path), or *",
  },
  {
    key: "alarmEmail",
    values: (p) => [p.alarmEmail],
    pattern: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
    must: "must be an e-mail address",
  },
  {
    key: "alarmTopicArn",
    values: (p) => [p.alarmTopicArn],
    pattern: /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/,
    must: "must be an SNS topic ARN (arn:aws:sns:region:account:name)",
  },
  {
    key: "upstashUrl",
    values: (p) => [p.upstashUrl],
    pattern: /^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/,
    must: "must be the database's REST URL, https://<host>",
  },
  {
    key: "secrets",
    values: (p) => [p.upstashTokenSecret, p.apiKeysSecret, p.adminKeysSecret],
    pattern:
      /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+|[A-Za-z0-9/_+=.@-]{1,512})$/,
    must: "must be a secret's name or ARN (arn:aws:secretsmanager:region:account:secret:name-AbCdEf)",
  },
  {
    key: "vpcId",
    values: (p) => [p.existingVpc?.vpcId],
    pattern: /^vpc-[0-9a-f]{8,17}$/,
    must: "must be a VPC id (vpc-0123456789abcdef0)",
  },
  {
    key: "privateSubnetIds",
    values: (p) => p.existingVpc?.privateSubnetIds ?? [],
    pattern: /^subnet-[0-9a-f]{8,17}$/,
    must: "each must be a subnet id (subnet-0123456789abcdef0)",
  },
  {
    key: "vpcAzs",
    values: (p) => p.existingVpc?.availabilityZones ?? [],
    pattern: /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/,
    must: "each must be an availability zone name (eu-west-1a)",
  },
  {
    key: "vpcCidr",
    values: (p) => [p.existingVpc?.cidr],
    pattern: /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/,
    must: "must be an IPv4 CIDR block (10.0.0.0/16)",
  },
];

function formatProblems(props: HighPressStackProps): string[] {
  return FORMATS.flatMap(({ key, values, pattern, must }) =>
    values(props)
      .filter((v): v is string => v !== undefined && !pattern.test(v))
      .map((v) => `${key}: ${must}, got ${v}`),
  );
}

/** Every problem with these props, each naming its context key; empty when the stack can deploy. */
/** The container target's context: what it can be, its task bounds, its certificate, its network. */
function targetProblems(props: HighPressStackProps): string[] {
  const problems: string[] = [];
  const target = props.target ?? "lambda";
  if (!["lambda", "fargate", "both"].includes(target))
    problems.push(`target: must be lambda, fargate or both, got ${target}`);
  const min = props.fargateMinTasks ?? 2;
  const max = props.fargateMaxTasks ?? 10;
  if (!Number.isInteger(min) || min < 1 || min > 1000)
    problems.push(`fargateMinTasks: must be an integer from 1 to 1000, got ${min}`);
  if (!Number.isInteger(max) || max < min || max > 1000)
    problems.push(`fargateMaxTasks: must be an integer from fargateMinTasks (${min}) to 1000, got ${max}`);
  if (
    props.certificateArn &&
    !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(props.certificateArn)
  )
    problems.push(
      `certificateArn: must be an ACM certificate ARN (arn:aws:acm:region:account:certificate/id), got ${props.certificateArn}`,
    );
  if (target !== "lambda" && props.existingVpc)
    problems.push(
      `target: ${target} with an existing VPC is not supported: the service needs public subnets this stack does not know (use a new VPC)`,
    );
  return problems;
}

export function stackPropsProblems(props: HighPressStackProps): string[] {
  return [
    ...appSettingProblems(props),
    ...formatProblems(props),
    ...rangeProblems(props),
    ...networkProblems(props),
    ...otherProblems(props),
    ...targetProblems(props),
  ];
}

/** A stack asked for something that would not deploy or not start. */
export class StackConfigError extends Error {
  override name = "StackConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`bad context: ${problems.join("; ")}`);
  }
}
