// The stack as CloudFormation: what each store mode deploys, checked on the template, and
// cdk-nag's AwsSolutions checks clean. Bundling is skipped here (see synth.test.ts).

import { App, Stack } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { VPC_ENI_ACTIONS } from "../../infra/counter-function.ts";
import type { HighPressStackProps } from "../../infra/stack.ts";
import {
  counterFunctions,
  EXISTING_VPC,
  type Resources,
  resourcesOf,
  roleOf,
  SECRET_ARN,
  statements,
  synth,
} from "../support/synth-stack.ts";

const MODES: [string, HighPressStackProps][] = [
  ["upstash (parameters)", {}],
  [
    "upstash (context)",
    { upstashUrl: "https://eu1-x.upstash.io", upstashTokenSecret: SECRET_ARN, alarmEmail: "ops@example.com" },
  ],
  [
    "elasticache (new VPC)",
    { store: "elasticache", apiKeysSecret: SECRET_ARN, corsOrigins: ["https://app.example.com"] },
  ],
  [
    "elasticache (existing VPC)",
    {
      store: "elasticache",
      existingVpc: EXISTING_VPC,
    },
  ],
];

describe.each(MODES)("HighPressStack, %s", (_name, props) => {
  const { stack, template } = synth(props);
  const functions = counterFunctions(template);

  it("has the eight functions with the team's defaults, under their construct ids", () => {
    expect(Object.keys(functions)).toHaveLength(8);
    for (const [id, fn] of Object.entries(functions)) {
      expect(fn.Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
        // The live watcher mostly waits: 256 MB.
        MemorySize: id.startsWith("WatchFunction") ? 256 : 512,
        LoggingConfig: { LogFormat: "JSON" },
      });
    }
    const paths = Object.values(functions)
      .map((f) => f.Metadata?.["aws:cdk:path"])
      .sort();
    expect(paths).toEqual([
      "HighPressStack/AdminFunction/Resource",
      "HighPressStack/BatchFunction/Resource",
      "HighPressStack/ConsumerFunction/Resource",
      "HighPressStack/EventsFunction/Resource",
      "HighPressStack/GetFunction/Resource",
      "HighPressStack/IncrementFunction/Resource",
      "HighPressStack/PublishFunction/Resource",
      "HighPressStack/WatchFunction/Resource",
    ]);
    template.resourceCountIs(
      "AWS::Logs::LogGroup",
      props.store === "elasticache" && !props.existingVpc ? 10 : 9,
    );
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
  });

  it("configures the store through environment names, with secrets by ARN only", () => {
    for (const [id, fn] of Object.entries(functions)) {
      const env = fn.Properties.Environment.Variables as Record<string, unknown>;
      const names = Object.keys(env).sort();
      if (id.startsWith("PublishFunction")) {
        // The live publisher reads no store: told nothing of it.
        expect(names.filter((n) => /^(COUNTER_STORE|REDIS|UPSTASH)/.test(n))).toEqual([]);
      } else if (props.store === "elasticache") {
        expect(names).toEqual(
          expect.arrayContaining(["COUNTER_STORE", "REDIS_URL", "REDIS_CLUSTER", "LOG_LEVEL"]),
        );
        expect(env.COUNTER_STORE).toBe("redis");
        expect(env.REDIS_CLUSTER).toBe("true");
        expect(JSON.stringify(env.REDIS_URL)).toContain("rediss://");
        expect(names.some((n) => n.startsWith("UPSTASH"))).toBe(false);
      } else {
        expect(names).toEqual(
          expect.arrayContaining([
            "COUNTER_STORE",
            "UPSTASH_REDIS_REST_URL",
            "UPSTASH_REDIS_REST_TOKEN_SECRET",
          ]),
        );
        expect(env.COUNTER_STORE).toBe("upstash");
        expect(names).not.toContain("UPSTASH_REDIS_REST_TOKEN");
        expect(names.some((n) => n.startsWith("REDIS"))).toBe(false);
      }
      expect(names).not.toContain("API_KEYS");
      // Without readAuth, the functions that serve no write read no API keys.
      const writes = ["IncrementFunction", "AdminFunction", "EventsFunction"].some((f) => id.startsWith(f));
      expect(env.API_KEYS_SECRET, id).toBe(props.apiKeysSecret && writes ? props.apiKeysSecret : undefined);
    }
  });

  it("routes the spec's paths to the functions over an HTTP API with payload v2", () => {
    const routes = resourcesOf(template, "AWS::ApiGatewayV2::Route");
    const integrations = resourcesOf(template, "AWS::ApiGatewayV2::Integration");
    const functionOf = (route: Resources[string]) => {
      const target = JSON.stringify(route.Properties.Target);
      const integrationId = Object.keys(integrations).find((id) => target.includes(id)) ?? "";
      const integration = integrations[integrationId];
      expect(integration?.Properties.PayloadFormatVersion).toBe("2.0");
      const uri = JSON.stringify(integration?.Properties.IntegrationUri);
      return Object.keys(functions)
        .find((id) => uri.includes(id))
        ?.replace(/[A-F0-9]{8}$/, "");
    };
    const table = Object.fromEntries(
      Object.values(routes).map((r) => [r.Properties.RouteKey, functionOf(r)]),
    );
    expect(table).toEqual({
      "POST /api/v1/counter/increment": "IncrementFunction",
      "POST /api/v1/counter/increments": "IncrementFunction",
      "POST /api/v1/counter/events": "EventsFunction",
      "POST /api/v1/counter/batch": "BatchFunction",
      "GET /health": "GetFunction",
      "GET /api/v1/counter/hot/{counter_type}": "GetFunction",
      "GET /api/v1/counter/{resource_id}/{counter_type}": "GetFunction",
      "GET /api/v1/counter/{resource_id}/{counter_type}/badge.svg": "GetFunction",
      "GET /api/v1/counter/{resource_id}/{counter_type}/history": "GetFunction",
      "GET /api/v1/counter/{resource_id}/{counter_type}/history.svg": "GetFunction",
      "PUT /api/v1/admin/counter/{resource_id}/{counter_type}": "AdminFunction",
      "DELETE /api/v1/admin/counter/{resource_id}/{counter_type}": "AdminFunction",
      "DELETE /api/v1/admin/users/{user_id}": "AdminFunction",
      $default: "GetFunction",
    });
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", { ProtocolType: "HTTP" });
  });

  it("throttles the $default stage and writes access logs", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp("requestId") },
    });
    template.hasOutput("ApiUrl", {});
  });

  it("grants no wildcard actions and no wildcard resources but the VPC's ENI actions", () => {
    const all = statements(template);
    expect(all.length).toBeGreaterThan(0);
    for (const statement of all) {
      for (const action of statement.actions) expect(action, JSON.stringify(statement)).not.toMatch(/\*/);
      const eni = statement.actions.every((a) => VPC_ENI_ACTIONS.includes(a));
      if (!eni) expect(statement.resources, JSON.stringify(statement)).not.toContain("*");
    }
    const roles = resourcesOf(template, "AWS::IAM::Role");
    for (const fn of Object.values(functions)) {
      const managed = JSON.stringify(roles[roleOf(fn)]?.Properties.ManagedPolicyArns ?? []);
      expect(managed).not.toContain("AWSLambdaBasicExecutionRole");
    }
  });

  it("alarms on 5xx rate, function errors, throttles and p99 duration (and the cache), with a dashboard", () => {
    const cache = props.store === "elasticache";
    template.resourceCountIs("AWS::CloudWatch::Alarm", cache ? 30 : 27);
    const alarms = Object.values(resourcesOf(template, "AWS::CloudWatch::Alarm"));
    const metrics = alarms.map((a) => a.Properties.MetricName ?? "expression");
    expect(metrics.sort()).toEqual(
      [
        ...Array(8).fill("Duration"),
        ...Array(8).fill("Errors"),
        ...Array(8).fill("Throttles"),
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "expression",
        ...(cache ? ["expression", "ThrottledCmds", "BytesUsedForCache"] : []),
      ].sort(),
    );
    expect(alarms.find((a) => a.Properties.MetricName === "Duration")?.Properties.ExtendedStatistic).toBe(
      "p99",
    );
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    if (props.alarmEmail) {
      template.hasResourceProperties("AWS::SNS::Subscription", {
        Protocol: "email",
        Endpoint: props.alarmEmail,
      });
      for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
    } else {
      for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });

  it("passes cdk-nag's AwsSolutions checks, every acknowledgement with its reason", () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(
      report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId)}`),
    ).toEqual([]);
  });

  if (props.store === "elasticache") {
    it("runs Valkey serverless, reachable from the functions only, over TLS in cluster mode", () => {
      template.hasResourceProperties("AWS::ElastiCache::ServerlessCache", {
        Engine: "valkey",
        // 1,000 requests/s (the stage throttle) at 14 ECPUs each.
        CacheUsageLimits: { DataStorage: { Maximum: 10, Unit: "GB" }, ECPUPerSecond: { Maximum: 14000 } },
      });
      const ingress = Object.values(resourcesOf(template, "AWS::EC2::SecurityGroupIngress"));
      const cacheIngress = ingress.filter((r) => r.Properties.FromPort === 6379);
      expect(cacheIngress).toHaveLength(1);
      expect(cacheIngress[0]?.Properties).toMatchObject({
        ToPort: 6380,
        SourceSecurityGroupId: {
          "Fn::GetAtt": [expect.stringMatching(/^FunctionsSecurityGroup/), "GroupId"],
        },
      });
      for (const group of Object.values(resourcesOf(template, "AWS::EC2::SecurityGroup"))) {
        expect(JSON.stringify(group.Properties.SecurityGroupIngress ?? [])).not.toContain("0.0.0.0/0");
      }
      // Every function but the live publisher, which reads no store and reaches AppSync outside.
      for (const [id, fn] of Object.entries(functions)) {
        if (id.startsWith("PublishFunction")) expect(fn.Properties.VpcConfig, id).toBeUndefined();
        else expect(fn.Properties.VpcConfig.SubnetIds.length, id).toBeGreaterThan(0);
      }
      if (!props.existingVpc) {
        template.resourceCountIs("AWS::EC2::NatGateway", 0);
        template.hasResourceProperties("AWS::EC2::FlowLog", { TrafficType: "REJECT" });
      }
      // SQS always (the events function sends to it); Secrets Manager when a secret is read.
      template.resourceCountIs("AWS::EC2::VPCEndpoint", props.apiKeysSecret ? 2 : 1);
    });
  }
});

describe("CORS", () => {
  it("is off by default and allows the configured origins and headers when set", () => {
    expect(JSON.stringify(synth({}).template.toJSON())).not.toContain("CorsConfiguration");
    synth({ corsOrigins: ["https://app.example.com"] }).template.hasResourceProperties(
      "AWS::ApiGatewayV2::Api",
      {
        CorsConfiguration: {
          AllowOrigins: ["https://app.example.com"],
          AllowHeaders: Match.arrayWith(["x-api-key", "idempotency-key", "x-request-id"]),
          ExposeHeaders: Match.arrayWith(["idempotent-replayed", "ratelimit-reset", "x-request-id"]),
        },
      },
    );
  });
});

describe("cdk-nag in this setup", () => {
  it("does report findings on a stack that has them", () => {
    const stack = new Stack(new App(), "Bad");
    const sg = new ec2.SecurityGroup(stack, "Open", { vpc: new ec2.Vpc(stack, "Vpc") });
    sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.allTraffic());
    const rules = new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);
    expect(rules).toEqual(expect.arrayContaining(["AwsSolutions-EC23", "AwsSolutions-VPC7"]));
  });
});
