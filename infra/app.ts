// The CDK app: reads the deploy choices from context (-c key=value) and synthesises the
// HighPress stack with cdk-nag's AwsSolutions checks, which fail synthesis on a finding.
//
//   npm run synth                                  Upstash; URL and token secret asked at deploy
//   npm run deploy -- -c store=upstash -c upstashUrl=https://... -c upstashTokenSecret=arn:...
//   npm run deploy -- -c store=elasticache [-c vpcId=... -c vpcAzs=a,b -c privateSubnetIds=x,y]
// Other context: stackName, apiKeysSecret, throttleRate, throttleBurst, corsOrigins,
// alarmEmail, alarmTopicArn, counterTypes, keyPrefix, logLevel, cacheMaxStorageGb,
// cacheMaxEcpuPerSecond.

import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { HighPressStack, type HighPressStackProps } from "./stack.ts";

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
const positive = (key: string): number | undefined => {
  const value = text(key);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    problems.push(`${key}: must be a positive integer, got ${value}`);
  return Number(value);
};

const store = text("store") ?? "upstash";
if (store !== "upstash" && store !== "elasticache")
  problems.push(`store: must be upstash or elasticache, got ${store}`);
const vpcId = text("vpcId");
const vpcAzs = list("vpcAzs");
const privateSubnetIds = list("privateSubnetIds");
if (vpcId && (!vpcAzs?.length || vpcAzs.length !== privateSubnetIds?.length)) {
  problems.push("vpcId: needs vpcAzs and privateSubnetIds, one subnet per availability zone");
}
const props: HighPressStackProps = {
  store: store as HighPressStackProps["store"],
  description: "HighPress: real-time counters on Lambda and Redis",
};
const optional: [keyof HighPressStackProps, string | number | string[] | undefined][] = [
  ["upstashUrl", text("upstashUrl")],
  ["upstashTokenSecret", text("upstashTokenSecret")],
  ["apiKeysSecret", text("apiKeysSecret")],
  ["throttleRate", positive("throttleRate")],
  ["throttleBurst", positive("throttleBurst")],
  ["corsOrigins", list("corsOrigins")],
  ["alarmEmail", text("alarmEmail")],
  ["alarmTopicArn", text("alarmTopicArn")],
  ["counterTypes", text("counterTypes")],
  ["keyPrefix", text("keyPrefix")],
  ["logLevel", text("logLevel")],
  ["cacheMaxStorageGb", positive("cacheMaxStorageGb")],
  ["cacheMaxEcpuPerSecond", positive("cacheMaxEcpuPerSecond")],
];
for (const [key, value] of optional) if (value !== undefined) Object.assign(props, { [key]: value });
if (vpcId && vpcAzs && privateSubnetIds)
  props.existingVpc = { vpcId, availabilityZones: vpcAzs, privateSubnetIds };

if (problems.length > 0) {
  process.stderr.write(`highpress: bad context: ${problems.join("; ")}\n`);
  process.exit(1);
}

new HighPressStack(app, text("stackName") ?? "HighPressStack", props);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
