// What a real AWS account asks of the stack on the first deploy and after, proven on the
// synthesised template (no machine here reaches AWS): VPC functions may manage their
// network interfaces, alarms reach an encrypted topic, bad context fails synth, the cache
// is named, snapshotted and kept, every function may read every secret.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { App } from "aws-cdk-lib";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import type { HighPressStackProps } from "../../infra/stack.ts";
import { runNode } from "../support/node-process.ts";
import {
  API_KEYS_ARN,
  counterFunctions,
  EXISTING_VPC,
  type Json,
  resourcesOf,
  roleOf,
  SECRET_ARN,
  statementsOf,
  synth,
} from "../support/synth-stack.ts";

const ENI_ACTIONS = [
  "ec2:CreateNetworkInterface",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DeleteNetworkInterface",
  "ec2:AssignPrivateIpAddresses",
  "ec2:UnassignPrivateIpAddresses",
  "ec2:DescribeSubnets",
];
const ELASTICACHE: HighPressStackProps = { store: "elasticache", apiKeysSecret: API_KEYS_ARN };
const KMS_KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

const only = <T>(values: T[]): T => {
  expect(values).toHaveLength(1);
  return values[0] as T;
};

describe("functions in a VPC", () => {
  it.each([
    ["new VPC", ELASTICACHE],
    ["existing VPC", { store: "elasticache", existingVpc: EXISTING_VPC } as HighPressStackProps],
  ])("may create, describe and delete their network interfaces (%s)", (_name, props) => {
    const { template } = synth(props);
    const all = Object.entries(counterFunctions(template));
    expect(all).toHaveLength(8);
    // The live publisher reads no store: it alone stays outside the VPC, to reach AppSync.
    const outside = all.filter(([id]) => id.startsWith("PublishFunction"));
    expect(outside.map(([, fn]) => fn.Properties.VpcConfig)).toEqual([undefined]);
    const functions = all.filter(([id]) => !id.startsWith("PublishFunction")).map(([, fn]) => fn);
    for (const fn of functions) {
      expect(fn.Properties.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
      const granted = statementsOf(template, roleOf(fn)).filter((s) => s.resources.includes("*"));
      const actions = granted.flatMap((s) => s.actions);
      expect(actions).toEqual(expect.arrayContaining(ENI_ACTIONS));
      for (const s of granted) expect(s.effect).toBe("Allow");
    }
  });

  it("are not given network-interface actions when they run outside a VPC (Upstash)", () => {
    const { template } = synth({});
    for (const fn of Object.values(counterFunctions(template))) {
      expect(fn.Properties.VpcConfig).toBeUndefined();
      const actions = statementsOf(template, roleOf(fn)).flatMap((s) => s.actions);
      expect(actions.filter((a) => a.startsWith("ec2:"))).toEqual([]);
    }
  });
});

describe("the alarm topic", () => {
  const { template } = synth({ alarmEmail: "ops@example.com" });

  it("is encrypted with its own rotating key that CloudWatch may use", () => {
    const topic = only(Object.values(resourcesOf(template, "AWS::SNS::Topic")));
    const keyRef = topic.Properties.KmsMasterKeyId;
    expect(JSON.stringify(keyRef)).not.toContain("alias/aws/sns");
    const keys = resourcesOf(template, "AWS::KMS::Key");
    const keyId = keyRef["Fn::GetAtt"]?.[0] ?? keyRef.Ref;
    const key = keys[keyId];
    if (!key) throw new Error(`topic key ${JSON.stringify(keyRef)} is not a key of this stack`);
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const forCloudWatch = (key.Properties.KeyPolicy.Statement as Json[]).filter(
      (s) => s.Principal?.Service === "cloudwatch.amazonaws.com" && s.Effect === "Allow",
    );
    expect(forCloudWatch.flatMap((s) => [].concat(s.Action))).toEqual(
      expect.arrayContaining(["kms:Decrypt", "kms:GenerateDataKey*"]),
    );
  });

  it("lets CloudWatch of this account publish, beside the TLS-only deny", () => {
    const policy = only(Object.values(resourcesOf(template, "AWS::SNS::TopicPolicy")));
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    const allow = only(statements.filter((s) => s.Effect === "Allow"));
    expect(allow).toMatchObject({
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
      Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
    });
    expect(
      statements.some((s) => s.Effect === "Deny" && JSON.stringify(s).includes("aws:SecureTransport")),
    ).toBe(true);
  });

  it("is left as it is when brought from outside (alarmTopicArn)", () => {
    const arn = "arn:aws:sns:eu-west-1:123456789012:ops-alarms";
    const outside = synth({ alarmTopicArn: arn }).template;
    outside.resourceCountIs("AWS::SNS::Topic", 0);
    outside.resourceCountIs("AWS::KMS::Key", 0);
    for (const alarm of Object.values(resourcesOf(outside, "AWS::CloudWatch::Alarm")))
      expect(alarm.Properties.AlarmActions).toEqual([arn]);
  });
});

describe("context checked at synth", () => {
  it.each<[string, HighPressStackProps, RegExp]>([
    ["a log level", { logLevel: "loud" }, /logLevel: must be debug, info, warn or error \(LOG_LEVEL\)/],
    ["counter types", { counterTypes: "like:weird" }, /counterTypes: entry "like:weird"/],
    ["a key prefix", { keyPrefix: "has space" }, /keyPrefix: must be 1-32 characters/],
    ["a store deadline", { storeTimeoutMs: 5 }, /storeTimeoutMs: must be an integer from 10 to 60000/],
    ["a body limit", { maxBodyBytes: 10 }, /maxBodyBytes: must be an integer from 256/],
    ["a ranking cap", { rankingMaxMembers: 5 }, /rankingMaxMembers: must be an integer from 100/],
    ["ranking shards", { rankingShards: 0 }, /rankingShards: must be an integer from 1/],
    ["a rate limit", { rateLimitIp: "lots" }, /rateLimitIp: must be N\/S/],
    ["read auth without keys", { readAuth: true }, /readAuth: needs apiKeysSecret/],
    [
      "too few ECPU",
      { store: "elasticache", cacheMaxEcpuPerSecond: 999 },
      /cacheMaxEcpuPerSecond: must be an integer from 1000 to 15000000, got 999/,
    ],
    ["too many ECPU", { store: "elasticache", cacheMaxEcpuPerSecond: 15_000_001 }, /cacheMaxEcpuPerSecond/],
    [
      "no storage",
      { store: "elasticache", cacheMaxStorageGb: 0 },
      /cacheMaxStorageGb: must be an integer from 1 to 5000, got 0/,
    ],
    ["too much storage", { store: "elasticache", cacheMaxStorageGb: 5001 }, /cacheMaxStorageGb/],
    [
      "snapshots kept too long",
      { store: "elasticache", cacheSnapshotRetentionDays: 36 },
      /cacheSnapshotRetentionDays/,
    ],
    [
      "a VPC with one AZ",
      {
        store: "elasticache",
        existingVpc: { vpcId: "vpc-1", availabilityZones: ["eu-west-1a"], privateSubnetIds: ["subnet-1"] },
      },
      /vpcId: needs at least 2 availability zones and 2 private subnets/,
    ],
    [
      "an existing endpoint in a new VPC",
      { store: "elasticache", secretsEndpoint: "existing" },
      /secretsEndpoint/,
    ],
    ["a key that is no key ARN", { secretsKmsKey: "alias/mine" }, /secretsKmsKey: must be a KMS key ARN/],
    [
      "an origin that is no origin",
      { corsOrigins: ["not-an-origin"] },
      /corsOrigins: each must be an origin.*got not-an-origin/,
    ],
    [
      "an origin with a path",
      { corsOrigins: ["https://app.example.com/x"] },
      /corsOrigins: .*got https:\/\/app.example.com\/x/,
    ],
    ["an e-mail that is no e-mail", { alarmEmail: "ops" }, /alarmEmail: must be an e-mail address, got ops/],
    ["a topic that is no SNS ARN", { alarmTopicArn: "ops-topic" }, /alarmTopicArn: must be an SNS topic ARN/],
    [
      "an Upstash URL over http",
      { upstashUrl: "http://eu1-x.upstash.io" },
      /upstashUrl: must be the database's REST URL/,
    ],
    [
      "a secret with spaces",
      { apiKeysSecret: "my keys" },
      /secrets: must be a secret's name or ARN .*got my keys/,
    ],
    [
      "a VPC id that is none",
      { store: "elasticache", existingVpc: { ...EXISTING_VPC, vpcId: "prod" } },
      /vpcId: must be a VPC id/,
    ],
    [
      "a consumer concurrency of 1",
      { consumerMaxConcurrency: 1 },
      /consumerMaxConcurrency: must be an integer from 2 to 1000, got 1/,
    ],
    [
      "an SQS endpoint said to exist in a new VPC",
      { store: "elasticache", sqsEndpoint: "existing" },
      /sqsEndpoint: existing needs an existing VPC/,
    ],
  ])("refuses %s, naming it", (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  it("names every bad value in one message", () => {
    const bad = () =>
      synth({ logLevel: "loud", keyPrefix: "a b", store: "elasticache", cacheMaxStorageGb: 0 });
    for (const key of ["logLevel", "keyPrefix", "cacheMaxStorageGb"]) expect(bad).toThrow(key);
  });

  describe("through `cdk synth`", () => {
    const outdir = mkdtempSync(join(tmpdir(), "hp-synth-"));
    afterAll(() => rmSync(outdir, { recursive: true, force: true }));

    it("stops with one line naming the key and exit code 1", async () => {
      // The CDK CLI hands the app its -c values as CDK_CONTEXT_JSON.
      const app = await runNode(["infra/app.ts"], {
        CDK_CONTEXT_JSON: JSON.stringify({
          logLevel: "loud",
          cacheMaxEcpuPerSecond: "999",
          store: "elasticache",
        }),
        CDK_OUTDIR: outdir,
      });
      expect(await app.exited).toBe(1);
      const lines = app.output().trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^highpress: bad context: logLevel: .*cacheMaxEcpuPerSecond: /);
    }, 60_000);

    it("stops on a bad origin, e-mail or unknown key, in one line", async () => {
      const app = await runNode(["infra/app.ts"], {
        CDK_CONTEXT_JSON: JSON.stringify({
          corsOrigins: "not-an-origin",
          alarmEmail: "ops",
          alarmEmial: "ops@example.com",
          "@aws-cdk/core:someFlag": true,
        }),
        CDK_OUTDIR: outdir,
      });
      expect(await app.exited).toBe(1);
      const lines = app.output().trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^highpress: bad context: /);
      expect(lines[0]).toContain("alarmEmial: unknown context key");
      expect(lines[0]).toContain("corsOrigins: each must be an origin");
      expect(lines[0]).toContain("alarmEmail: must be an e-mail address, got ops");
      expect(lines[0]).not.toContain("someFlag");
    }, 60_000);
  });
});

describe("the cache's name", () => {
  const nameOf = (stackName: string, props: HighPressStackProps = ELASTICACHE) => {
    const { template } = synth(props, stackName);
    const cache = only(Object.values(resourcesOf(template, "AWS::ElastiCache::ServerlessCache")));
    return cache.Properties.ServerlessCacheName as string;
  };

  it.each(["HighPressStack", "HighPress--Prod-", "Team-A-HighPress-Production-EuWest1-Blue-Green", "hp-"])(
    "is a valid ElastiCache name for the stack %s: lowercase, at most 40, no '--', no '-' at the end",
    (stackName) => {
      const name = nameOf(stackName);
      expect(name.length).toBeLessThanOrEqual(40);
      expect(name).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
      expect(name).not.toContain("--");
    },
  );

  it("differs between stacks whose names share a long prefix", () => {
    const a = nameOf("HighPressProductionEuropeWestOneStackA");
    const b = nameOf("HighPressProductionEuropeWestOneStackB");
    expect(a).not.toBe(b);
  });

  it("changes with a property that replaces the cache, so the replacement can be created first", () => {
    const moved = {
      ...EXISTING_VPC,
      privateSubnetIds: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    };
    const before = nameOf("HighPressStack", { store: "elasticache", existingVpc: EXISTING_VPC });
    const after = nameOf("HighPressStack", { store: "elasticache", existingVpc: moved });
    expect(after).not.toBe(before);
    expect(nameOf("HighPressStack", { store: "elasticache", existingVpc: EXISTING_VPC })).toBe(before);
  });
});

describe("an existing VPC", () => {
  it("gets a Secrets Manager and an SQS endpoint by default", () => {
    const { template } = synth({ ...ELASTICACHE, existingVpc: EXISTING_VPC });
    const services = Object.values(resourcesOf(template, "AWS::EC2::VPCEndpoint")).map((e) =>
      JSON.stringify(e.Properties.ServiceName),
    );
    expect(services).toHaveLength(2);
    expect(services.some((s) => s.includes(".secretsmanager"))).toBe(true);
    expect(services.some((s) => s.includes(".sqs"))).toBe(true);
  });

  it.each<[string, Partial<HighPressStackProps>, number]>([
    ["secretsEndpoint=existing", { secretsEndpoint: "existing" }, 1],
    ["sqsEndpoint=existing", { sqsEndpoint: "existing" }, 1],
    ["both existing", { secretsEndpoint: "existing", sqsEndpoint: "existing" }, 0],
  ])(
    "with %s gets no endpoint of that service, and the functions may reach 443 inside the VPC",
    (_n, extra, count) => {
      const { template } = synth({
        ...ELASTICACHE,
        existingVpc: { ...EXISTING_VPC, cidr: "10.20.0.0/16" },
        ...extra,
      });
      template.resourceCountIs("AWS::EC2::VPCEndpoint", count);
      template.hasResourceProperties("AWS::EC2::SecurityGroup", {
        GroupDescription: "HighPress functions",
        SecurityGroupEgress: Match.arrayWith([
          Match.objectLike({ CidrIp: "10.20.0.0/16", FromPort: 443, ToPort: 443, IpProtocol: "tcp" }),
        ]),
      });
    },
  );

  it("with secretsEndpoint=existing or sqsEndpoint=existing needs the VPC's CIDR", () => {
    expect(() => synth({ ...ELASTICACHE, existingVpc: EXISTING_VPC, secretsEndpoint: "existing" })).toThrow(
      /vpcCidr/,
    );
    expect(() => synth({ ...ELASTICACHE, existingVpc: EXISTING_VPC, sqsEndpoint: "existing" })).toThrow(
      /vpcCidr: needed with sqsEndpoint=existing/,
    );
  });
});

describe("secrets", () => {
  const secretArnsOf = (template: ReturnType<typeof synth>["template"], fn: Json) =>
    statementsOf(template, roleOf(fn))
      .filter((s) => s.actions.includes("secretsmanager:GetSecretValue"))
      .flatMap((s) => s.resources.map((r) => JSON.stringify(r)));

  const TOKEN = "highpress/upstash-token";
  const KEYS = "highpress/api-keys";
  // Every function that reads the store (not the live publisher).
  const ALL = [
    "IncrementFunction",
    "GetFunction",
    "BatchFunction",
    "AdminFunction",
    "EventsFunction",
    "ConsumerFunction",
    "WatchFunction",
  ];
  const SERVING = ALL.filter((f) => f !== "ConsumerFunction" && f !== "WatchFunction");
  const WRITERS = ["IncrementFunction", "AdminFunction", "EventsFunction"];
  it.each<[string, HighPressStackProps, Record<string, string[]>]>([
    [
      "upstash with API keys",
      { upstashTokenSecret: SECRET_ARN, apiKeysSecret: API_KEYS_ARN },
      { [TOKEN]: ALL, [KEYS]: WRITERS },
    ],
    [
      "upstash with API keys and readAuth",
      { upstashTokenSecret: SECRET_ARN, apiKeysSecret: API_KEYS_ARN, readAuth: true },
      { [TOKEN]: ALL, [KEYS]: SERVING },
    ],
    ["upstash, token by parameter", {}, { UpstashTokenSecretArn: ALL }],
    ["elasticache with API keys", ELASTICACHE, { [KEYS]: WRITERS }],
  ])("may be read only by the functions that serve what needs them (%s)", (_name, props, readers) => {
    const { template } = synth(props);
    const functions = Object.entries(counterFunctions(template));
    expect(functions).toHaveLength(8);
    for (const [id, fn] of functions) {
      const granted = secretArnsOf(template, fn);
      for (const [secret, expected] of Object.entries(readers)) {
        const reads = expected.some((f) => id.startsWith(f));
        expect(
          granted.some((g) => g.includes(secret)),
          `${id} reads ${secret}`,
        ).toBe(reads);
      }
      expect(granted.length > 0, `${id} reads some secret`).toBe(
        Object.values(readers).some((r) => r.some((f) => id.startsWith(f))),
      );
    }
  });

  it("of admin keys may be read by the admin function only, which alone is told where they are", () => {
    const ADMIN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:highpress/admin-keys-QwErTy";
    for (const props of [{ adminKeysSecret: ADMIN_ARN }, { ...ELASTICACHE, adminKeysSecret: ADMIN_ARN }]) {
      const { template } = synth(props);
      const functions = Object.entries(counterFunctions(template));
      expect(functions).toHaveLength(8);
      for (const [id, fn] of functions) {
        const admin = id.startsWith("AdminFunction");
        const reads = secretArnsOf(template, fn).some((g) => g.includes("highpress/admin-keys"));
        expect(reads, id).toBe(admin);
        expect(fn.Properties.Environment.Variables.ADMIN_KEYS_SECRET, id).toBe(admin ? ADMIN_ARN : undefined);
      }
    }
  });

  it("under a customer-managed key may be decrypted through Secrets Manager only", () => {
    const { template } = synth({ upstashTokenSecret: SECRET_ARN, secretsKmsKey: KMS_KEY_ARN });
    expect(Object.values(counterFunctions(template))).toHaveLength(8);
    for (const [id, fn] of Object.entries(counterFunctions(template))) {
      // The live publisher reads no secret, so decrypts none.
      if (id.startsWith("PublishFunction")) {
        expect(statementsOf(template, roleOf(fn)).some((s) => s.actions.includes("kms:Decrypt"))).toBe(false);
        continue;
      }
      const decrypt = only(
        statementsOf(template, roleOf(fn)).filter((s) => s.actions.includes("kms:Decrypt")),
      );
      expect(decrypt.resources).toEqual([KMS_KEY_ARN]);
      expect(JSON.stringify(decrypt.condition)).toContain("kms:ViaService");
      expect(JSON.stringify(decrypt.condition)).toContain("secretsmanager.");
    }
  });
});

describe("feature flags", () => {
  it("cdk.json carries every recommended flag of the installed aws-cdk-lib", () => {
    const recommended = JSON.parse(
      readFileSync("node_modules/aws-cdk-lib/recommended-feature-flags.json", "utf8"),
    ) as Record<string, unknown>;
    const context = JSON.parse(readFileSync("cdk.json", "utf8")).context as Record<string, unknown>;
    for (const [flag, value] of Object.entries(recommended)) expect(context[flag], flag).toEqual(value);
  });

  it("restrict the new VPC's default security group", () => {
    synth(ELASTICACHE).template.resourceCountIs("Custom::VpcRestrictDefaultSG", 1);
  });
});

describe("app settings", () => {
  it("reach the functions' environment", () => {
    const { template } = synth({
      apiKeysSecret: API_KEYS_ARN,
      storeTimeoutMs: 500,
      maxBodyBytes: 4096,
      rankingMaxMembers: 500,
      rankingShards: 8,
      idempotencyTtlMs: 3_600_000,
      rateLimitIp: "100/60",
      rateLimitKey: "1000/60",
      rateLimitUser: "10/1",
      readAuth: true,
    });
    for (const [id, fn] of Object.entries(counterFunctions(template))) {
      const variables = fn.Properties.Environment.Variables;
      expect(variables).toMatchObject({
        STORE_TIMEOUT_MS: "500",
        MAX_BODY_BYTES: "4096",
        RANKING_MAX_MEMBERS: "500",
        RANKING_SHARDS: "8",
        IDEMPOTENCY_TTL_MS: "3600000",
        RATE_LIMIT_IP: "100/60",
        RATE_LIMIT_KEY: "1000/60",
        RATE_LIMIT_USER: "10/1",
      });
      // The consumer and the live functions serve no read and read no API keys: READ_AUTH would
      // stop them from starting.
      const consumer = ["ConsumerFunction", "WatchFunction", "PublishFunction"].some((f) => id.startsWith(f));
      expect(variables.READ_AUTH, id).toBe(consumer ? undefined : "true");
      expect(variables.API_KEYS_SECRET, id).toBe(consumer ? undefined : API_KEYS_ARN);
    }
  });

  it("leave source maps off unless asked, and turn them on with sourceMaps", () => {
    for (const fn of Object.values(counterFunctions(synth({}).template)))
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
    for (const fn of Object.values(counterFunctions(synth({ sourceMaps: true }).template)))
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe("--enable-source-maps");
  });

  it("turn on active tracing with its permissions only when asked", () => {
    const traced = synth({ tracing: true }).template;
    for (const fn of Object.values(counterFunctions(traced))) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: "Active" });
      const actions = statementsOf(traced, roleOf(fn)).flatMap((s) => s.actions);
      expect(actions).toEqual(expect.arrayContaining(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]));
    }
    for (const fn of Object.values(counterFunctions(synth({}).template)))
      expect(fn.Properties.TracingConfig).toBeUndefined();
  });
});

describe("alarms an operator trusts", () => {
  it("judge the 5xx rate only from a minimum number of requests", () => {
    const alarms = resourcesOf(synth({}).template, "AWS::CloudWatch::Alarm");
    const rate = only(Object.entries(alarms).filter(([id]) => id.startsWith("Api5xxRateAlarm")))[1];
    const expression = (rate.Properties.Metrics as Json[]).find((m) => m.Expression)?.Expression as string;
    expect(expression).toMatch(/^IF\(requests >= (\d+), 100 \* errors \/ requests, 0\)$/);
    expect(Number(expression.match(/>= (\d+)/)?.[1])).toBeGreaterThanOrEqual(10);
  });

  it("watch the cache's ECPU, throttling and storage against its ceilings", () => {
    const { template } = synth({ ...ELASTICACHE, cacheMaxEcpuPerSecond: 20_000, cacheMaxStorageGb: 50 });
    const cache = only(Object.values(resourcesOf(template, "AWS::ElastiCache::ServerlessCache")));
    const alarms = Object.values(resourcesOf(template, "AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    const onCache = (metric: string) =>
      only(alarms.filter((a) => JSON.stringify(a).includes(`"MetricName":"${metric}"`)));
    const ecpu = onCache("ElastiCacheProcessingUnits");
    expect(ecpu.Threshold).toBe(16_000);
    expect(JSON.stringify(ecpu)).toContain(
      `{"Name":"clusterId","Value":"${cache.Properties.ServerlessCacheName}"}`,
    );
    expect(onCache("ThrottledCmds").Threshold).toBe(1);
    expect(onCache("BytesUsedForCache").Threshold).toBe(40e9);
  });

  it("stand beside a dashboard of the app's EMF metrics and the cache's", () => {
    const { template } = synth(ELASTICACHE);
    const dashboard = only(Object.values(resourcesOf(template, "AWS::CloudWatch::Dashboard")));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of ["Requests", "Errors", "Latency", "StoreLatency"])
      expect(body).toContain(`\\"HighPress\\",\\"${metric}\\"`);
    for (const metric of ["ElastiCacheProcessingUnits", "ThrottledCmds", "BytesUsedForCache"])
      expect(body).toContain(`\\"AWS/ElastiCache\\",\\"${metric}\\"`);
  });
});

describe("data outlives mistakes", () => {
  const cacheOf = (props: HighPressStackProps) => {
    const { template } = synth({ ...ELASTICACHE, ...props });
    return only(Object.values(resourcesOf(template, "AWS::ElastiCache::ServerlessCache")));
  };

  it("takes daily snapshots, 7 kept by default", () => {
    expect(cacheOf({}).Properties.SnapshotRetentionLimit).toBe(7);
    expect(cacheOf({ cacheSnapshotRetentionDays: 14 }).Properties.SnapshotRetentionLimit).toBe(14);
  });

  it("takes a final snapshot on deletion by default, or is retained, or destroyed when asked", () => {
    const snapshot = cacheOf({});
    expect(snapshot.Properties.FinalSnapshotName).toBe(`${snapshot.Properties.ServerlessCacheName}-final`);
    expect(snapshot.DeletionPolicy).toBe("Delete");
    const retained = cacheOf({ cacheRemoval: "retain" });
    expect(retained.DeletionPolicy).toBe("Retain");
    expect(retained.UpdateReplacePolicy).toBe("Retain");
    const destroyed = cacheOf({ cacheRemoval: "destroy" });
    expect(destroyed.DeletionPolicy).toBe("Delete");
    expect(destroyed.Properties.FinalSnapshotName).toBeUndefined();
  });

  it("tags the stack, and so every resource CloudFormation tags, with the project and the stack", () => {
    const { stack } = synth(ELASTICACHE, "CountersProd");
    const artifact = (stack.node.root as App).synth().getStackByName("CountersProd");
    expect(artifact.tags).toMatchObject({ Project: "HighPress", Stack: "CountersProd" });
  });
});

describe("cdk-nag honesty", () => {
  const acknowledged = (stack: ReturnType<typeof synth>["stack"]) =>
    JSON.stringify(stack.api?.node.metadata.filter((m) => m.type === "aws:cdk:acknowledged-rules"));

  it("says writes are authorised in the functions only when there are API keys", () => {
    expect(acknowledged(synth({ apiKeysSecret: API_KEYS_ARN }).stack)).toContain(
      "authorised inside the functions",
    );
    expect(acknowledged(synth({}).stack)).not.toContain("authorised inside the functions");
  });

  it("warns at synth that writes are open without API keys, and only then", () => {
    Annotations.fromStack(synth({}).stack).hasWarning("*", Match.stringLikeRegexp("writes are open"));
    Annotations.fromStack(synth({ apiKeysSecret: API_KEYS_ARN }).stack).hasNoWarning(
      "*",
      Match.stringLikeRegexp("writes are open"),
    );
  });
});
