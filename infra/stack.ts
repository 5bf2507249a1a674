// The HighPress stack: an HTTP API (payload v2, $default stage) in front of three functions
// (increment, get, batch), counters in Upstash (REST) or ElastiCache Serverless (Valkey,
// TLS, cluster mode, in a VPC), stage throttling, access logs, alarms and a dashboard.

import { CfnOutput, CfnParameter, Duration, Stack, type StackProps, Validations } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elasticache from "aws-cdk-lib/aws-elasticache";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";
import type { FunctionId } from "./bundling.ts";
import { CounterFunction } from "./counter-function.ts";

export type StoreMode = "upstash" | "elasticache";

export interface HighPressStackProps extends StackProps {
  /** Where counters live. Default upstash. */
  store?: StoreMode;
  /** Upstash REST URL. Default: the UpstashRestUrl parameter, asked at deploy. */
  upstashUrl?: string;
  /** Secret holding the Upstash token, by name or ARN. Default: the UpstashTokenSecretArn parameter. */
  upstashTokenSecret?: string;
  /** Secret holding the API keys accepted on writes (JSON array or comma-separated). Default: writes open. */
  apiKeysSecret?: string;
  /** An existing VPC for ElastiCache mode; default: a new VPC with two AZs and no NAT gateway. */
  existingVpc?: { vpcId: string; availabilityZones: string[]; privateSubnetIds: string[] };
  /** Stage throttling: steady requests per second and burst. Default 1000 and 2000. */
  throttleRate?: number;
  throttleBurst?: number;
  /** Origins allowed by CORS; default none (no CORS). */
  corsOrigins?: string[];
  /** Alarms notify this address (a new SNS topic), or this existing topic. Default: alarms only. */
  alarmEmail?: string;
  alarmTopicArn?: string;
  /** COUNTER_TYPES, KEY_PREFIX and LOG_LEVEL of the functions; defaults as the service's. */
  counterTypes?: string;
  keyPrefix?: string;
  logLevel?: string;
  /** ElastiCache Serverless limits, a ceiling on its bill. Default 10 GB and 5000 ECPU/s. */
  cacheMaxStorageGb?: number;
  cacheMaxEcpuPerSecond?: number;
}

const ROUTES: { id: FunctionId; method: apigwv2.HttpMethod; path: string }[] = [
  { id: "IncrementFunction", method: apigwv2.HttpMethod.POST, path: "/api/v1/counter/increment" },
  { id: "BatchFunction", method: apigwv2.HttpMethod.POST, path: "/api/v1/counter/batch" },
  { id: "GetFunction", method: apigwv2.HttpMethod.GET, path: "/health" },
  { id: "GetFunction", method: apigwv2.HttpMethod.GET, path: "/api/v1/counter/hot/{counter_type}" },
  { id: "GetFunction", method: apigwv2.HttpMethod.GET, path: "/api/v1/counter/{resource_id}/{counter_type}" },
];

export class HighPressStack extends Stack {
  readonly api: apigwv2.HttpApi;
  readonly functions: Record<FunctionId, CounterFunction>;

  constructor(scope: Construct, id: string, props: HighPressStackProps = {}) {
    super(scope, id, props);
    const store = props.store ?? "upstash";
    const environment: Record<string, string> = {
      COUNTER_STORE: store === "upstash" ? "upstash" : "redis",
      ...(props.counterTypes ? { COUNTER_TYPES: props.counterTypes } : {}),
      ...(props.keyPrefix ? { KEY_PREFIX: props.keyPrefix } : {}),
      LOG_LEVEL: props.logLevel ?? "info",
    };
    const secrets: secretsmanager.ISecret[] = [];
    const secretFrom = (cid: string, nameOrArn: string) =>
      nameOrArn.startsWith("arn:")
        ? secretsmanager.Secret.fromSecretCompleteArn(this, cid, nameOrArn)
        : secretsmanager.Secret.fromSecretNameV2(this, cid, nameOrArn);

    if (props.apiKeysSecret) {
      const secret = secretFrom("ApiKeysSecret", props.apiKeysSecret);
      secrets.push(secret);
      environment.API_KEYS_SECRET = secret.secretArn;
    }

    let network: Pick<
      ConstructorParameters<typeof CounterFunction>[2],
      "vpc" | "vpcSubnets" | "securityGroups"
    > = {};
    if (store === "upstash") {
      const url =
        props.upstashUrl ??
        new CfnParameter(this, "UpstashRestUrl", {
          type: "String",
          description: "Upstash Redis REST URL, e.g. https://eu1-example-12345.upstash.io",
          allowedPattern: "https://.+",
        }).valueAsString;
      let tokenSecret: secretsmanager.ISecret;
      if (props.upstashTokenSecret) tokenSecret = secretFrom("UpstashTokenSecret", props.upstashTokenSecret);
      else {
        const arn = new CfnParameter(this, "UpstashTokenSecretArn", {
          type: "String",
          description: "ARN of the Secrets Manager secret holding the Upstash REST token",
          allowedPattern: "arn:aws[a-z-]*:secretsmanager:.+",
        });
        Validations.of(this).acknowledge({
          id: "CloudFormation-Validate::W2509",
          reason: "UpstashTokenSecretArn holds the ARN of the secret, not the token: nothing to hide.",
        });
        tokenSecret = secretsmanager.Secret.fromSecretCompleteArn(
          this,
          "UpstashTokenSecret",
          arn.valueAsString,
        );
      }
      secrets.push(tokenSecret);
      environment.UPSTASH_REDIS_REST_URL = url;
      environment.UPSTASH_REDIS_REST_TOKEN_SECRET = tokenSecret.secretArn;
    } else {
      network = this.elasticache(props, environment, secrets.length > 0);
    }

    const make = (fid: FunctionId) =>
      new CounterFunction(this, fid, {
        store: store === "upstash" ? "upstash" : "redis",
        environment,
        ...network,
      });
    this.functions = {
      IncrementFunction: make("IncrementFunction"),
      GetFunction: make("GetFunction"),
      BatchFunction: make("BatchFunction"),
    };
    for (const fn of Object.values(this.functions)) for (const secret of secrets) secret.grantRead(fn);

    // The API: each route to its function; whatever no route matches goes to the get
    // function, which answers the spec's JSON 404 or 405 instead of API Gateway's own.
    const integrations = Object.fromEntries(
      Object.entries(this.functions).map(([fid, fn]) => [
        fid,
        new HttpLambdaIntegration(`${fid}Integration`, fn),
      ]),
    ) as Record<FunctionId, HttpLambdaIntegration>;
    const cors = props.corsOrigins?.length
      ? {
          allowOrigins: props.corsOrigins,
          allowMethods: [
            apigwv2.CorsHttpMethod.GET,
            apigwv2.CorsHttpMethod.POST,
            apigwv2.CorsHttpMethod.OPTIONS,
          ],
          // The same lists as the app's own CORS (shared/app.ts), which the local server uses.
          allowHeaders: ["content-type", "authorization", "x-api-key", "idempotency-key", "x-request-id"],
          exposeHeaders: [
            "idempotent-replayed",
            "retry-after",
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "x-request-id",
          ],
          maxAge: Duration.hours(1),
        }
      : undefined;
    this.api = new apigwv2.HttpApi(this, "Api", {
      apiName: `${this.stackName}-api`,
      description: "HighPress counter API",
      createDefaultStage: false,
      defaultIntegration: integrations.GetFunction,
      ...(cors ? { corsPreflight: cors } : {}),
    });
    for (const route of ROUTES) {
      this.api.addRoutes({ path: route.path, methods: [route.method], integration: integrations[route.id] });
    }
    const accessLogs = new logs.LogGroup(this, "ApiAccessLogs", { retention: logs.RetentionDays.ONE_MONTH });
    const stage = new apigwv2.HttpStage(this, "DefaultStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRate ?? 1000, burstLimit: props.throttleBurst ?? 2000 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            ip: "$context.identity.sourceIp",
            time: "$context.requestTime",
            method: "$context.httpMethod",
            path: "$context.path",
            routeKey: "$context.routeKey",
            status: "$context.status",
            latencyMs: "$context.responseLatency",
            integrationLatencyMs: "$context.integrationLatency",
            integrationError: "$context.integrationErrorMessage",
            bytes: "$context.responseLength",
          }),
        ),
      },
    });

    this.monitoring(props, stage);
    new CfnOutput(this, "ApiUrl", {
      value: this.api.apiEndpoint,
      description: "Base URL of the counter API",
    });

    Validations.of(this.api).acknowledge({
      id: "AwsSolutions-APIG4",
      reason:
        "Writes are authorised inside the functions with API keys from Secrets Manager (constant-time compare); reads are public by design: counters are shown to end users.",
    });
  }

  /** ElastiCache Serverless (Valkey) in a VPC that only the functions can reach. */
  private elasticache(
    props: HighPressStackProps,
    environment: Record<string, string>,
    needsSecrets: boolean,
  ) {
    const vpc = props.existingVpc
      ? ec2.Vpc.fromVpcAttributes(this, "Vpc", {
          vpcId: props.existingVpc.vpcId,
          availabilityZones: props.existingVpc.availabilityZones,
          isolatedSubnetIds: props.existingVpc.privateSubnetIds,
        })
      : this.newVpc();
    const subnets = vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    const functionsSg = new ec2.SecurityGroup(this, "FunctionsSecurityGroup", {
      vpc,
      description: "HighPress functions",
      allowAllOutbound: false,
    });
    const cacheSg = new ec2.SecurityGroup(this, "CacheSecurityGroup", {
      vpc,
      description: "HighPress cache: reachable from the functions only",
      allowAllOutbound: false,
    });
    // 6379: the endpoint; 6380: the reader endpoint of ElastiCache Serverless.
    cacheSg.addIngressRule(functionsSg, ec2.Port.tcpRange(6379, 6380), "functions to the cache");
    functionsSg.addEgressRule(cacheSg, ec2.Port.tcpRange(6379, 6380), "functions to the cache");
    if (needsSecrets) {
      // Isolated subnets have no route out: an interface endpoint costs less than a NAT gateway.
      const endpointSg = new ec2.SecurityGroup(this, "SecretsEndpointSecurityGroup", {
        vpc,
        description: "Secrets Manager endpoint: reachable from the functions only",
        allowAllOutbound: false,
      });
      endpointSg.addIngressRule(functionsSg, ec2.Port.tcp(443), "functions to Secrets Manager");
      functionsSg.addEgressRule(endpointSg, ec2.Port.tcp(443), "functions to Secrets Manager");
      vpc.addInterfaceEndpoint("SecretsManagerEndpoint", {
        service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets,
        securityGroups: [endpointSg],
        open: false,
      });
    }
    const cache = new elasticache.CfnServerlessCache(this, "Cache", {
      engine: "valkey",
      majorEngineVersion: "8",
      serverlessCacheName: `${this.stackName
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "-")
        .slice(0, 30)}-counters`,
      description: "HighPress counters",
      subnetIds: subnets.subnetIds,
      securityGroupIds: [cacheSg.securityGroupId],
      cacheUsageLimits: {
        dataStorage: { maximum: props.cacheMaxStorageGb ?? 10, unit: "GB" },
        ecpuPerSecond: { maximum: props.cacheMaxEcpuPerSecond ?? 5000 },
      },
    });
    environment.REDIS_URL = `rediss://${cache.attrEndpointAddress}:${cache.attrEndpointPort}`;
    environment.REDIS_CLUSTER = "true";
    return { vpc, vpcSubnets: { subnets: subnets.subnets }, securityGroups: [functionsSg] };
  }

  private newVpc(): ec2.Vpc {
    const vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: "private", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    // Rejected traffic only: what a security review needs, at a fraction of the cost.
    vpc.addFlowLog("FlowLog", {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, "VpcFlowLogs", { retention: logs.RetentionDays.ONE_MONTH }),
      ),
    });
    return vpc;
  }

  private monitoring(props: HighPressStackProps, stage: apigwv2.HttpStage): void {
    let topic: sns.ITopic | undefined;
    if (props.alarmTopicArn) topic = sns.Topic.fromTopicArn(this, "AlarmTopic", props.alarmTopicArn);
    else if (props.alarmEmail) {
      const created = new sns.Topic(this, "AlarmTopic", {
        displayName: "HighPress alarms",
        enforceSSL: true,
        masterKey: kms.Alias.fromAliasName(this, "SnsKey", "alias/aws/sns"),
      });
      created.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      topic = created;
    }
    const alarms: cloudwatch.Alarm[] = [];
    const period = Duration.minutes(1);
    const requests = this.api.metricCount({ period, statistic: "Sum" });
    const errors5xx = this.api.metricServerError({ period, statistic: "Sum" });
    const errorRate = new cloudwatch.MathExpression({
      expression: "IF(requests > 0, 100 * errors / requests, 0)",
      usingMetrics: { requests, errors: errors5xx },
      period,
      label: "5xx rate (%)",
    });
    alarms.push(
      errorRate.createAlarm(this, "Api5xxRateAlarm", {
        alarmDescription: "More than 1% of requests answered 5xx for 3 of the last 5 minutes",
        threshold: 1,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    const fnWidgets: cloudwatch.IWidget[] = [];
    for (const [fid, fn] of Object.entries(this.functions)) {
      alarms.push(
        fn.metricErrors({ period, statistic: "Sum" }).createAlarm(this, `${fid}ErrorsAlarm`, {
          alarmDescription: `${fid} failed invocations (errors the function did not answer itself)`,
          threshold: 1,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
        fn.metricThrottles({ period, statistic: "Sum" }).createAlarm(this, `${fid}ThrottlesAlarm`, {
          alarmDescription: `${fid} invocations throttled by Lambda concurrency limits`,
          threshold: 1,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
        fn
          .metricDuration({ period: Duration.minutes(5), statistic: "p99" })
          .createAlarm(this, `${fid}P99DurationAlarm`, {
            alarmDescription: `${fid} p99 duration above 1 s (the store deadline) for 3 of 5 periods`,
            threshold: 1000,
            evaluationPeriods: 5,
            datapointsToAlarm: 3,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
      );
      fnWidgets.push(
        new cloudwatch.GraphWidget({
          title: `${fid}: invocations and errors`,
          left: [
            fn.metricInvocations({ period }),
            fn.metricErrors({ period }),
            fn.metricThrottles({ period }),
          ],
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: `${fid}: duration`,
          left: [
            fn.metricDuration({ period, statistic: "p50" }),
            fn.metricDuration({ period, statistic: "p99" }),
          ],
          width: 8,
        }),
      );
    }
    if (topic) for (const alarm of alarms) alarm.addAlarmAction(new actions.SnsAction(topic));
    new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `${this.stackName}-highpress`,
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: "API requests and errors",
            left: [requests, this.api.metricClientError({ period, statistic: "Sum" }), errors5xx],
            right: [errorRate],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: "API latency",
            left: [
              this.api.metricLatency({ period, statistic: "p50" }),
              this.api.metricLatency({ period, statistic: "p99" }),
            ],
            width: 12,
          }),
        ],
        fnWidgets.slice(0, 3),
        fnWidgets.slice(3),
        [new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms, width: 24 })],
      ],
    });
    void stage;
  }
}
