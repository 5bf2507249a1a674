// The HighPress stack: an HTTP API (payload v2, $default stage) in front of three functions
// (increment, get, batch), counters in Upstash (REST) or ElastiCache Serverless (Valkey,
// TLS, cluster mode, in a VPC), stage throttling, access logs, alarms and a dashboard.
// Props are checked first (stack-props.ts): a stack that would not deploy or start fails synth.

import { Annotations, CfnOutput, CfnParameter, Duration, Stack, Validations } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { CATCH_ALL_FUNCTION, ROUTES } from "../shared/http/routes.ts";
import { FUNCTION_IDS, type FunctionId } from "./bundling.ts";
import { type CounterCache, cacheMaxEcpuPerSecond, cacheMaxStorageGb, counterCache } from "./cache.ts";
import { CounterFunction } from "./counter-function.ts";
import { CONSUMER_TIMEOUT, eventsQueue } from "./events-queue.ts";
import { monitoring } from "./monitoring.ts";
import {
  appSettingsEnvironment,
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

/** The secrets the functions read at start, and the environment variables that name them. */
interface Secrets {
  all: secretsmanager.ISecret[];
  environment: Record<string, string>;
}

export class HighPressStack extends Stack {
  readonly api: apigwv2.HttpApi;
  readonly functions: Record<FunctionId, CounterFunction>;

  constructor(scope: Construct, id: string, props: HighPressStackProps = {}) {
    // Stack tags: CloudFormation puts them on every resource that takes tags (with the
    // explicitStackTags flag, Tags.of(stack) would be ignored).
    const tags = { Project: "HighPress", Stack: props.stackName ?? id, ...props.tags };
    super(scope, id, { ...props, tags });
    const problems = stackPropsProblems(props);
    if (problems.length > 0) throw new StackConfigError(problems);

    const store = props.store ?? "upstash";
    const secrets = this.secrets(props);
    const adminSecret = props.adminKeysSecret
      ? this.secretFrom("AdminKeysSecret", props.adminKeysSecret)
      : undefined;
    const readsSecrets = secrets.all.length > 0 || adminSecret !== undefined;
    const cache = store === "elasticache" ? counterCache(this, props, readsSecrets) : undefined;
    const environment = {
      COUNTER_STORE: store === "upstash" ? "upstash" : "redis",
      ...appSettingsEnvironment(props),
      ...secrets.environment,
      ...cache?.environment,
    };
    // Only the admin function knows the admin keys: the public functions never read them.
    const adminEnvironment = adminSecret
      ? { ...environment, ADMIN_KEYS_SECRET: adminSecret.secretArn }
      : environment;
    this.functions = this.makeFunctions(
      props,
      (fid) => (fid === "AdminFunction" ? adminEnvironment : environment),
      cache,
    );
    for (const [fid, fn] of Object.entries(this.functions)) {
      const readable = fid === "AdminFunction" && adminSecret ? [...secrets.all, adminSecret] : secrets.all;
      this.grantSecrets(fn, readable, props);
    }
    this.api = this.httpApi(props);
    const events = eventsQueue(this, this.functions.EventsFunction, this.functions.ConsumerFunction);
    monitoring(this, props, {
      extraAlarms: events.alarms,
      api: this.api,
      functions: this.functions,
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
    new CfnOutput(this, "ApiUrl", {
      value: this.api.apiEndpoint,
      description: "Base URL of the counter API",
    });
    this.acknowledgeAuth(props);
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
        ...cache?.network,
        ...(fid === "ConsumerFunction" ? { timeout: CONSUMER_TIMEOUT } : {}),
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

  /** The API-keys secret (when given) and, in Upstash mode, the token secret and URL. */
  private secrets(props: HighPressStackProps): Secrets {
    const secrets: Secrets = { all: [], environment: {} };
    if (props.apiKeysSecret) {
      const secret = this.secretFrom("ApiKeysSecret", props.apiKeysSecret);
      secrets.all.push(secret);
      secrets.environment.API_KEYS_SECRET = secret.secretArn;
    }
    if ((props.store ?? "upstash") === "upstash") {
      const token = this.upstashTokenSecret(props);
      secrets.all.push(token);
      secrets.environment.UPSTASH_REDIS_REST_URL = this.upstashUrl(props);
      secrets.environment.UPSTASH_REDIS_REST_TOKEN_SECRET = token.secretArn;
    }
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
   * Every function reads every secret at start (each builds the whole app). A secret under
   * a customer-managed key also needs kms:Decrypt on that key, through Secrets Manager only
   * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html).
   */
  private grantSecrets(
    fn: CounterFunction,
    secrets: secretsmanager.ISecret[],
    props: HighPressStackProps,
  ): void {
    for (const secret of secrets) secret.grantRead(fn);
    if (props.secretsKmsKey && secrets.length > 0) {
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
  private httpApi(props: HighPressStackProps): apigwv2.HttpApi {
    const integrations = Object.fromEntries(
      Object.entries(this.functions)
        .filter(([fid]) => fid !== "ConsumerFunction")
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
    for (const route of ROUTES) {
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
    const accessLogs = new logs.LogGroup(this, "ApiAccessLogs", { retention: logs.RetentionDays.ONE_MONTH });
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
    Validations.of(this.api).acknowledge({ id: "AwsSolutions-APIG4", reason });
    if (!props.apiKeysSecret) Annotations.of(this).addWarningV2("highpress:open-writes", OPEN_WRITES_WARNING);
  }
}
