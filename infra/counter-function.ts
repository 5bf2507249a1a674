// The team's defaults for a HighPress function, in one place: Node.js 24 on arm64, the
// shared esbuild options (ESM, minified, no AWS SDK, one store client; source maps opt-in),
// JSON logs in a log group with a retention period, and a role that can write only that
// group (plus, in a VPC, manage its network interfaces; with tracing, write to X-Ray).

import { join } from "node:path";
import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import {
  BUNDLE_ALIASES,
  BUNDLE_TARGET,
  bundleDefine,
  type DeployedStore,
  deployedNodeOptions,
  ESM_REQUIRE_BANNER,
  EXTERNAL_MODULES,
  FUNCTIONS,
  type FunctionId,
} from "./bundling.ts";

const ROOT = join(import.meta.dirname, "..");
const DEFAULT_TIMEOUT = Duration.seconds(10);

export interface CounterFunctionProps {
  /** Which store client the bundle carries. */
  store: DeployedStore;
  environment: Record<string, string>;
  /** Default 512 MB: Lambda gives CPU in proportion, and TLS plus JSON want some. */
  memorySize?: number;
  /** Default 10 s; every store call has its own 1 s deadline well inside it. */
  timeout?: Duration;
  /** Default one month. */
  logRetention?: logs.RetentionDays;
  vpc?: lambda.FunctionProps["vpc"];
  vpcSubnets?: lambda.FunctionProps["vpcSubnets"];
  securityGroups?: lambda.FunctionProps["securityGroups"];
  /** Ship a source map and run with --enable-source-maps. Default false: it slows the cold start. */
  sourceMaps?: boolean;
  /** Lambda active tracing (X-Ray); CDK grants the role what it needs. Default false. */
  tracing?: boolean;
  /** The level below which Lambda drops the function's JSON log lines (as LOG_LEVEL). Default info. */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** Fed by a queue, not by API Gateway: its alarms follow its timeout, not the store deadline. */
  queueConsumer?: boolean;
  /** Runs until shortly before its timeout on purpose (the live watcher): its duration alarm sits just under it. */
  runsToDeadline?: boolean;
}

/** LOG_LEVEL's names as Lambda's application log levels. */
const APPLICATION_LOG_LEVELS = {
  debug: lambda.ApplicationLogLevel.DEBUG,
  info: lambda.ApplicationLogLevel.INFO,
  warn: lambda.ApplicationLogLevel.WARN,
  error: lambda.ApplicationLogLevel.ERROR,
} as const;

/**
 * What Lambda needs to attach a function to a VPC: the actions of the managed policy
 * AWSLambdaENIManagementAccess, plus ec2:DescribeSubnets. CDK adds the managed
 * AWSLambdaVPCAccessExecutionRole only to roles it creates itself, and Lambda refuses to
 * create a VPC function whose role lacks them
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions).
 * These EC2 actions do not support resource-level scoping: the resource is `*`.
 */
export const VPC_ENI_ACTIONS = [
  "ec2:CreateNetworkInterface",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "ec2:DeleteNetworkInterface",
  "ec2:AssignPrivateIpAddresses",
  "ec2:UnassignPrivateIpAddresses",
];

export class CounterFunction extends NodejsFunction {
  readonly queueConsumer: boolean;
  readonly runsToDeadline: boolean;
  readonly timeoutDuration: Duration;

  constructor(scope: Construct, id: FunctionId, props: CounterFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole, whose logs permissions cover
    // every log group in the account.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Runs the HighPress ${FUNCTIONS[id].short} function`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [logGroup.logGroupArn],
      }),
    );
    if (props.vpc) role.addToPolicy(new iam.PolicyStatement({ actions: VPC_ENI_ACTIONS, resources: ["*"] }));
    if (props.vpc || props.tracing) {
      Validations.of(role).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "Only the VPC network-interface actions (Lambda's AWSLambdaENIManagementAccess) and X-Ray's PutTraceSegments/PutTelemetryRecords, none of which supports resource-level permissions.",
      });
    }
    const nodeOptions = deployedNodeOptions(props.sourceMaps ?? false);
    super(scope, id, {
      entry: join(ROOT, FUNCTIONS[id].entry),
      handler: "handler",
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? DEFAULT_TIMEOUT,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // Lambda drops lines below this level itself; it reads `level` and `timestamp` (logger.ts).
      applicationLogLevelV2: APPLICATION_LOG_LEVELS[props.logLevel ?? "info"],
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, "package-lock.json"),
      environment: { ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}), ...props.environment },
      ...(props.tracing ? { tracing: lambda.Tracing.ACTIVE } : {}),
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE_TARGET,
        mainFields: ["module", "main"],
        minify: true,
        sourceMap: props.sourceMaps ?? false,
        sourcesContent: false,
        externalModules: EXTERNAL_MODULES,
        define: bundleDefine(props.store, id),
        banner: ESM_REQUIRE_BANNER,
        esbuildArgs: Object.fromEntries(
          Object.entries(BUNDLE_ALIASES).map(([from, to]) => [`--alias:${from}`, to]),
        ),
        forceDockerBundling: false,
      },
    });
    this.queueConsumer = props.queueConsumer ?? false;
    this.runsToDeadline = props.runsToDeadline ?? false;
    this.timeoutDuration = props.timeout ?? DEFAULT_TIMEOUT;
  }
}
