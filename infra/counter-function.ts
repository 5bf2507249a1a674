// The team's defaults for a HighPress function, in one place: Node.js 24 on arm64, the
// shared esbuild options (ESM, minified, source maps, no AWS SDK, one store client), JSON
// logs in a log group with a retention period, and a role that can write only that group.

import { join } from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import {
  BUNDLE_TARGET,
  bundleDefine,
  type DeployedStore,
  ESM_REQUIRE_BANNER,
  EXTERNAL_MODULES,
  FUNCTIONS,
  type FunctionId,
} from "./bundling.ts";

const ROOT = join(import.meta.dirname, "..");

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
}

export class CounterFunction extends NodejsFunction {
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
    super(scope, id, {
      entry: join(ROOT, FUNCTIONS[id].entry),
      handler: "handler",
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, "package-lock.json"),
      environment: { NODE_OPTIONS: "--enable-source-maps", ...props.environment },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE_TARGET,
        mainFields: ["module", "main"],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        externalModules: EXTERNAL_MODULES,
        define: bundleDefine(props.store),
        banner: ESM_REQUIRE_BANNER,
        forceDockerBundling: false,
      },
    });
  }
}
