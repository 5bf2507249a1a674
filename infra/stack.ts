// The HighPress stack: an HTTP API (payload v2, $default stage) in front of three functions
// (increment, get, batch), counters in Upstash (REST) or ElastiCache Serverless (Valkey,
// TLS, cluster mode, in a VPC), stage throttling, access logs, alarms and a dashboard.
// Props are checked first (stack-props.ts): a stack that would not deploy or start fails synth.

import {
  Annotations,
  CfnOutput,
  CfnParameter,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
} from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { NON_HTTP_FUNCTION_IDS, STORELESS_FUNCTION_IDS } from "../shared/domain/functions.ts";
import { CATCH_ALL_FUNCTION, LAMBDA_ROUTES } from "../shared/http/routes.ts";
import { logLevelOf } from "../shared/runtime/logger.ts";
import { FUNCTION_IDS, type FunctionId } from "./bundling.ts";
import { type CounterCache, cacheMaxEcpuPerSecond, cacheMaxStorageGb, counterCache } from "./cache.ts";
import { CounterFunction } from "./counter-function.ts";
import { CONSUMER_TIMEOUT, type EventsQueue, eventsQueue } from "./events-queue.ts";
import { type ContainerService, containerService } from "./fargate.ts";
import { type FunctionNeeds, functionNeeds, type SecretKind } from "./function-needs.ts";
import { liveCounts, WATCH_TIMEOUT } from "./live.ts";
import { monitoring } from "./monitoring.ts";
import {
  appSettingsEnvironment,
  CONSUMER_CONCURRENCY,
  type HighPressStackProps,
  StackConfigError,
  stackPropsProblems,
} from "./stack-props.ts";

export type { HighPressStackProps, StoreMode } from "./stack-props.ts";

/** The warning synth prints for a stack whose writes anyone may make. */
export const OPEN_WRITES_WARNING =
  "No apiKeysSecret: writes are open to anyone on the internet. Fine for a demo; set -c apiKeysSecret=<secret> for anything else.";

/** The same lists as the app's own CORS, which the local server uses. */
const CORS_HEADERS = {
  allow: ["content-type", "authorization", "x-api-key", "idempotency-key", "x-request-id"],
  expose: [
    "idempotent-replayed",
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-request-id",
  ],
};

/** The secrets given to the stack, by the variable each stands for. */
type GivenSecrets = Partial<Record<SecretKind, secretsmanager.ISecret>>;

export class HighPressStack extends Stack {
  /** The HTTP API and the functions: target lambda (the default) or both. */
  readonly api?: apigwv2.HttpApi;
  readonly functions?: Record<FunctionId, CounterFunction>;
  /** The container service: target fargate or both. */
  readonly service?: ContainerService;

  constructor(scope: Construct, id: string, props: HighPressStackProps = {}) {
    // Stack tags: CloudFormation puts them on every resource that takes tags (with the
    // explicitStackTags flag, Tags.of(stack) would be ignored).
    const tags = { Project: "HighPress", Stack: props.stackName ?? id, ...props.tags };
    super(scope, id, { ...props, tags });
    const problems = stackPropsProblems(props);
    if (problems.length > 0) throw new StackConfigError(problems);

    const target = props.target ?? "lambda";
    const store = props.store ?? "upstash";
    const secrets = this.secrets(props);
    const given = new Set(Object.keys(secrets) as SecretKind[]);
    const needs = Object.fromEntries(
      FUNCTION_IDS.map((fid) => [fid, functionNeeds(fid, props, given)]),
    ) as Record<FunctionId, FunctionNeeds>;
    // The functions' AWS services, reached in a VPC by interface endpoints (the service's tasks use their public address).
    const services = new Set(
      target === "fargate" ? [] : Object.values(needs).flatMap((n) => [...n.services]),
    );
    const cache = store === "elasticache" ? counterCache(this, props, services) : undefined;
    const settings = appSettingsEnvironment(props);
    const shared = {
      COUNTER_STORE: store === "upstash" ? "upstash" : "redis",
      ...settings,
      ...(store === "upstash" ? { UPSTASH_REDIS_REST_URL: this.upstashUrl(props) } : {}),
      ...cache?.environment,
    };
    let events: EventsQueue | undefined;
    if (target !== "fargate") {
      // A function that reads no store is told nothing of it.
      this.functions = this.makeFunctions(
        props,
        (fid) =>
          functionEnvironment(STORELESS_FUNCTION_IDS.includes(fid) ? settings : shared, needs[fid], secrets),
        cache,
      );
      for (const fid of FUNCTION_IDS) this.grantSecrets(this.functions[fid], needs[fid], secrets, props);
      this.api = this.httpApi(this.functions, props);
      events = eventsQueue(this, this.functions.EventsFunction, this.functions.ConsumerFunction, {
        maxConcurrency: props.consumerMaxConcurrency ?? CONSUMER_CONCURRENCY.fallback,
      });
      liveCounts(
        this,
        { watcher: this.functions.WatchFunction, publisher: this.functions.PublishFunction },
        { readAuth: props.readAuth === true, stackName: this.stackName },
      );
    }
    // The container reads its secrets' values as its variables (ECS fetches them at start).
    if (target !== "lambda")
      this.service = containerService(this, props, { cache, environment: shared, secrets });
    const dashboard = monitoring(this, props, {
      ...(this.api ? { api: this.api } : {}),
      functions: this.functions ?? {},
      ...(this.service ? { service: this.service } : {}),
      extraAlarms: events?.alarms ?? [],
      ...(cache
        ? {
            cache: {
              name: cache.name,
              maxEcpuPerSecond: cacheMaxEcpuPerSecond(props),
              maxStorageGb: cacheMaxStorageGb(props),
            },
          }
        : {}),
    });
    this.outputs(events, dashboard);
    this.acknowledgeAuth(props);
  }

  /** What a first deploy reads back: where to send requests, where events wait, where to look. */
  private outputs(events: EventsQueue | undefined, dashboard: cloudwatch.Dashboard): void {
    if (this.api && events) {
      new CfnOutput(this, "ApiUrl", {
        value: this.api.apiEndpoint,
        description: "Base URL of the counter API",
      });
      new CfnOutput(this, "EventsQueueUrl", {
        value: events.queue.queueUrl,
        description: "The queue of accepted events (POST /api/v1/counter/events)",
      });
      new CfnOutput(this, "EventsDeadLetterQueueUrl", {
        value: events.deadLetters.queueUrl,
        description: "Events not applied after 5 deliveries: npm run replay-dead-letters",
      });
    }
    new CfnOutput(this, "DashboardName", {
      value: dashboard.dashboardName,
      description: "The CloudWatch dashboard of this stack",
    });
  }

  private makeFunctions(
    props: HighPressStackProps,
    environmentOf: (fid: FunctionId) => Record<string, string>,
    cache: CounterCache | undefined,
  ): Record<FunctionId, CounterFunction> {
    const make = (fid: FunctionId) =>
      new CounterFunction(this, fid, {
        store: props.store === "elasticache" ? "redis" : "upstash",
        environment: environmentOf(fid),
        sourceMaps: props.sourceMaps ?? false,
        tracing: props.tracing ?? false,
        // The live publisher reads no store: it sits outside the VPC, where AppSync is reached.
        ...(STORELESS_FUNCTION_IDS.includes(fid) ? {} : cache?.network),
        logLevel: logLevelOf(props.logLevel),
        ...(fid === "ConsumerFunction" || fid === "PublishFunction"
          ? { timeout: CONSUMER_TIMEOUT, queueConsumer: true }
          : {}),
        ...(fid === "WatchFunction" ? { timeout: WATCH_TIMEOUT, runsToDeadline: true, memorySize: 256 } : {}),
      });
    return Object.fromEntries(FUNCTION_IDS.map((fid) => [fid, make(fid)])) as Record<
      FunctionId,
      CounterFunction
    >;
  }

  private secretFrom(cid: string, nameOrArn: string): secretsmanager.ISecret {
    return nameOrArn.startsWith("arn:")
      ? secretsmanager.Secret.fromSecretCompleteArn(this, cid, nameOrArn)
      : secretsmanager.Secret.fromSecretNameV2(this, cid, nameOrArn);
  }

  /** The secrets given: API keys, admin keys, and in Upstash mode the token. */
  private secrets(props: HighPressStackProps): GivenSecrets {
    const secrets: GivenSecrets = {};
    if (props.apiKeysSecret) secrets.API_KEYS = this.secretFrom("ApiKeysSecret", props.apiKeysSecret);
    if (props.adminKeysSecret) secrets.ADMIN_KEYS = this.secretFrom("AdminKeysSecret", props.adminKeysSecret);
    if ((props.store ?? "upstash") === "upstash")
      secrets.UPSTASH_REDIS_REST_TOKEN = this.upstashTokenSecret(props);
    return secrets;
  }

  private upstashUrl(props: HighPressStackProps): string {
    return (
      props.upstashUrl ??
      new CfnParameter(this, "UpstashRestUrl", {
        type: "String",
        description: "Upstash Redis REST URL, e.g. https://eu1-example-12345.upstash.io",
        allowedPattern: "https://.+",
      }).valueAsString
    );
  }

  private upstashTokenSecret(props: HighPressStackProps): secretsmanager.ISecret {
    if (props.upstashTokenSecret) return this.secretFrom("UpstashTokenSecret", props.upstashTokenSecret);
    const arn = new CfnParameter(this, "UpstashTokenSecretArn", {
      type: "String",
      description: "ARN of the Secrets Manager secret holding the Upstash REST token",
      allowedPattern: "arn:aws[a-z-]*:secretsmanager:.+",
    });
    Validations.of(this).acknowledge({
      id: "CloudFormation-Validate::W2509",
      reason: "UpstashTokenSecretArn holds the ARN of the secret, not the token: nothing to hide.",
    });
    return secretsmanager.Secret.fromSecretCompleteArn(this, "UpstashTokenSecret", arn.valueAsString);
  }

  /**
   * Each function may read the secrets it needs (function-needs.ts), no others. A secret
   * under a customer-managed key also needs kms:Decrypt on that key, through Secrets Manager
   * only (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html).
   */
  private grantSecrets(
    fn: CounterFunction,
    needs: FunctionNeeds,
    secrets: GivenSecrets,
    props: HighPressStackProps,
  ): void {
    for (const kind of needs.secrets) secrets[kind]?.grantRead(fn);
    if (props.secretsKmsKey && needs.secrets.size > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["kms:Decrypt"],
          resources: [props.secretsKmsKey],
          conditions: { StringEquals: { "kms:ViaService": `secretsmanager.${this.region}.amazonaws.com` } },
        }),
      );
    }
  }

  /** The API: each route to its function; whatever no route matches goes to the get function, which answers the spec's JSON 404 or 405. */
  private httpApi(
    functions: Record<FunctionId, CounterFunction>,
    props: HighPressStackProps,
  ): apigwv2.HttpApi {
    const integrations = Object.fromEntries(
      Object.entries(functions)
        .filter(([fid]) => !(NON_HTTP_FUNCTION_IDS as readonly string[]).includes(fid))
        .map(([fid, fn]) => [fid, new HttpLambdaIntegration(`${fid}Integration`, fn)]),
    ) as Record<FunctionId, HttpLambdaIntegration>;
    const api = new apigwv2.HttpApi(this, "Api", {
      apiName: `${this.stackName}-api`,
      description: "HighPress counter API",
      createDefaultStage: false,
      defaultIntegration: integrations[CATCH_ALL_FUNCTION],
      ...(props.corsOrigins?.length
        ? {
            corsPreflight: {
              allowOrigins: props.corsOrigins,
              allowMethods: [
                apigwv2.CorsHttpMethod.GET,
                apigwv2.CorsHttpMethod.POST,
                apigwv2.CorsHttpMethod.PUT,
                apigwv2.CorsHttpMethod.DELETE,
                apigwv2.CorsHttpMethod.OPTIONS,
              ],
              allowHeaders: CORS_HEADERS.allow,
              exposeHeaders: CORS_HEADERS.expose,
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });
    // A route only the local server serves (a stream) is left to the catch-all's 404.
    for (const route of LAMBDA_ROUTES) {
      api.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration: integrations[route.fn],
      });
    }
    this.defaultStage(api, props);
    return api;
  }

  private defaultStage(api: apigwv2.HttpApi, props: HighPressStackProps): void {
    const accessLogs = new logs.LogGroup(this, "ApiAccessLogs", {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new apigwv2.HttpStage(this, "DefaultStage", {
      httpApi: api,
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
  }

  /**
   * API Gateway authorizes nothing (cdk-nag APIG4): with keys, the functions authorize
   * writes themselves; without, writes are open, and synth says so.
   */
  private acknowledgeAuth(props: HighPressStackProps): void {
    const reason = props.apiKeysSecret
      ? "Writes are authorised inside the functions with API keys from Secrets Manager (constant-time compare); reads are public by design: counters are shown to end users. The admin routes are authorised in the admin function with admin keys (adminKeysSecret), and answer 404 without them."
      : "A stack without apiKeysSecret has open writes on purpose (a demo); synth warns about it. The admin routes are authorised in the admin function with admin keys, and answer 404 without them.";
    if (this.api) Validations.of(this.api).acknowledge({ id: "AwsSolutions-APIG4", reason });
    if (!props.apiKeysSecret) Annotations.of(this).addWarningV2("highpress:open-writes", OPEN_WRITES_WARNING);
  }
}

/**
 * A function's environment: the shared settings, and `<VARIABLE>_SECRET` for each secret it
 * reads. READ_AUTH goes only to functions that read the API keys: the others serve no read
 * (the consumer, the admin routes' function without keys), and the app refuses READ_AUTH
 * without keys.
 */
function functionEnvironment(
  shared: Record<string, string>,
  needs: FunctionNeeds,
  secrets: GivenSecrets,
): Record<string, string> {
  const environment = { ...shared };
  if (!needs.secrets.has("API_KEYS")) delete environment.READ_AUTH;
  for (const kind of needs.secrets) {
    const secret = secrets[kind];
    if (secret) environment[`${kind}_SECRET`] = secret.secretArn;
  }
  return environment;
}
