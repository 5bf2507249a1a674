// The CDK app: reads the deploy choices from context (-c key=value) and synthesises the
// HighPress stack with cdk-nag's AwsSolutions checks, which fail synthesis on a finding.
// A bad value stops synth with one line naming every bad key (the stack judges the app
// settings with the app's own parser, so what synthesises also starts).
//
//   npm run synth                                  Upstash; URL and token secret asked at deploy
//   npm run deploy -- -c store=upstash -c upstashUrl=https://... -c upstashTokenSecret=arn:...
//   npm run deploy -- -c store=elasticache [-c vpcId=... -c vpcAzs=a,b -c privateSubnetIds=x,y]
// Every key is listed in docs/deploy.md (a test holds the two to the same list).

import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { CONTEXT_SETTINGS, type ContextKind } from "../shared/runtime/settings.ts";
import { HighPressStack } from "./stack.ts";
import {
  type AppSettingKey,
  type HighPressStackProps,
  StackConfigError,
  stackPropsProblems,
} from "./stack-props.ts";

const app = new App();
const problems: string[] = [];
const text = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === "" ? undefined : String(value);
};
const list = (key: string) =>
  text(key)
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
const integer = (key: string): number | undefined => {
  const value = text(key);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) problems.push(`${key}: must be a whole number, got ${value}`);
  return Number(value);
};
const flag = (key: string): boolean | undefined => {
  const value = text(key);
  if (value === undefined) return undefined;
  if (value !== "true" && value !== "false") problems.push(`${key}: must be true or false, got ${value}`);
  return value === "true";
};
const oneOf = <T extends string>(key: string, allowed: readonly T[]): T | undefined => {
  const value = text(key);
  if (value !== undefined && !allowed.includes(value as T))
    problems.push(`${key}: must be ${allowed.join(" or ")}, got ${value}`);
  return value as T | undefined;
};

const props: HighPressStackProps = {
  store: oneOf("store", ["upstash", "elasticache"] as const) ?? "upstash",
  description: "HighPress: real-time counters on Lambda and Redis",
};
const vpcId = text("vpcId");
if (vpcId) {
  props.existingVpc = {
    vpcId,
    availabilityZones: list("vpcAzs") ?? [],
    privateSubnetIds: list("privateSubnetIds") ?? [],
    ...(text("vpcCidr") ? { cidr: text("vpcCidr") } : {}),
  };
}
const optional: Partial<Record<keyof HighPressStackProps, unknown>> = {
  upstashUrl: text("upstashUrl"),
  upstashTokenSecret: text("upstashTokenSecret"),
  apiKeysSecret: text("apiKeysSecret"),
  adminKeysSecret: text("adminKeysSecret"),
  secretsKmsKey: text("secretsKmsKey"),
  secretsEndpoint: oneOf("secretsEndpoint", ["create", "existing"] as const),
  sqsEndpoint: oneOf("sqsEndpoint", ["create", "existing"] as const),
  consumerMaxConcurrency: integer("consumerMaxConcurrency"),
  throttleRate: integer("throttleRate"),
  throttleBurst: integer("throttleBurst"),
  corsOrigins: list("corsOrigins"),
  alarmEmail: text("alarmEmail"),
  alarmTopicArn: text("alarmTopicArn"),
  cacheMaxStorageGb: integer("cacheMaxStorageGb"),
  cacheMaxEcpuPerSecond: integer("cacheMaxEcpuPerSecond"),
  cacheSnapshotRetentionDays: integer("cacheSnapshotRetentionDays"),
  cacheRemoval: oneOf("cacheRemoval", ["retain", "snapshot", "destroy"] as const),
  target: oneOf("target", ["lambda", "fargate", "both"] as const),
  fargateMinTasks: integer("fargateMinTasks"),
  fargateMaxTasks: integer("fargateMaxTasks"),
  certificateArn: text("certificateArn"),
  sourceMaps: flag("sourceMaps"),
  tracing: flag("tracing"),
};
// The app's own settings, each read as its entry in the settings table says.
const readers: Record<ContextKind, (key: string) => unknown> = { text, integer, flag };
for (const setting of CONTEXT_SETTINGS)
  optional[setting.where.context as AppSettingKey] = readers[setting.where.kind](setting.where.context);
for (const [key, value] of Object.entries(optional))
  if (value !== undefined) Object.assign(props, { [key]: value });

// A mistyped key (-c alarmEmial=...) would be ignored without a word: every camelCase key must
// be one of ours. CDK's own keys (feature flags, aws:cdk:...) have '@', ':' or '-' in them.
const KNOWN_KEYS = new Set([
  ...Object.keys(optional),
  "store",
  "stackName",
  "vpcId",
  "vpcAzs",
  "privateSubnetIds",
  "vpcCidr",
]);
for (const key of Object.keys(app.node.getAllContext())) {
  if (/^[a-z][A-Za-z0-9]*$/.test(key) && !KNOWN_KEYS.has(key)) problems.push(`${key}: unknown context key`);
}

function fail(all: readonly string[]): never {
  process.stderr.write(`highpress: bad context: ${all.join("; ")}\n`);
  process.exit(1);
}

if (problems.length > 0) fail([...problems, ...stackPropsProblems(props)]);
try {
  new HighPressStack(app, text("stackName") ?? "HighPressStack", props);
} catch (error) {
  if (error instanceof StackConfigError) fail(error.problems);
  throw error;
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
