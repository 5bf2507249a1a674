// Every function reaches every AWS service it calls, in both store modes. The services are
// derived from each function's own IAM permissions in the template (what it may call is what
// it will call); in a VPC with isolated subnets each needs a path: an interface endpoint of
// that service whose security group admits the functions' group, or (an endpoint the VPC
// already has) egress on 443 inside the VPC's range.

import { describe, expect, it } from "vitest";
import type { HighPressStackProps } from "../../infra/stack.ts";
import {
  API_KEYS_ARN,
  counterFunctions,
  EXISTING_VPC,
  type Json,
  type Resource,
  resourcesOf,
  roleOf,
  statementsOf,
  synth,
} from "../support/synth-stack.ts";

const KMS_KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ADMIN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:highpress/admin-keys-QwErTy";

/**
 * Services whose calls leave the function over the network. Left out: logs (Lambda ships
 * stdout), ec2 (Lambda manages the network interfaces), xray (Lambda's own daemon sends),
 * and kms calls made through another service (kms:ViaService: Secrets Manager decrypts).
 */
function servicesCalled(template: ReturnType<typeof synth>["template"], fn: Resource): Set<string> {
  const services = new Set<string>();
  for (const s of statementsOf(template, roleOf(fn))) {
    if (s.effect !== "Allow") continue;
    for (const action of s.actions) {
      const service = action.split(":")[0] ?? "";
      if (["logs", "ec2", "xray"].includes(service)) continue;
      if (service === "kms" && JSON.stringify(s.condition ?? {}).includes("kms:ViaService")) continue;
      services.add(service);
    }
  }
  return services;
}

const idOf = (ref: Json): string => ref?.["Fn::GetAtt"]?.[0] ?? ref?.Ref ?? "";

/** The security groups of the endpoints of a service, by the endpoint's ServiceName. */
function endpointGroups(template: ReturnType<typeof synth>["template"], service: string): string[] {
  return Object.values(resourcesOf(template, "AWS::EC2::VPCEndpoint"))
    .filter((e) => JSON.stringify(e.Properties.ServiceName).includes(`.${service}"`))
    .flatMap((e) => (e.Properties.SecurityGroupIds as Json[]).map(idOf));
}

/** Rules, inline or as their own resources, of a direction. */
function rules(template: ReturnType<typeof synth>["template"], direction: "Ingress" | "Egress"): Json[] {
  const inline = Object.entries(resourcesOf(template, "AWS::EC2::SecurityGroup")).flatMap(([id, g]) =>
    ((g.Properties[`SecurityGroup${direction}`] ?? []) as Json[]).map((r) => ({
      ...r,
      GroupId: { Ref: id },
    })),
  );
  const separate = Object.values(resourcesOf(template, `AWS::EC2::SecurityGroup${direction}`)).map(
    (r) => r.Properties,
  );
  return [...inline, ...separate];
}

const covers443 = (r: Json) => r.IpProtocol === "tcp" && r.FromPort <= 443 && r.ToPort >= 443;

/** Whether a function in these groups has a path to the service. */
function hasPath(
  template: ReturnType<typeof synth>["template"],
  fnGroups: string[],
  service: string,
  cidr?: string,
) {
  const egress = rules(template, "Egress").filter((r) => fnGroups.includes(idOf(r.GroupId)) && covers443(r));
  const ingress = rules(template, "Ingress").filter(covers443);
  const viaEndpoint = endpointGroups(template, service).some(
    (sg) =>
      ingress.some((r) => idOf(r.GroupId) === sg && fnGroups.includes(idOf(r.SourceSecurityGroupId))) &&
      egress.some((r) => idOf(r.DestinationSecurityGroupId) === sg),
  );
  const viaExistingEndpoint = cidr !== undefined && egress.some((r) => r.CidrIp === cidr);
  return viaEndpoint || viaExistingEndpoint;
}

const ELASTICACHE: HighPressStackProps = { store: "elasticache" };

describe("every function reaches every AWS service it calls", () => {
  it.each<[string, HighPressStackProps, string | undefined]>([
    ["elasticache, no secrets", ELASTICACHE, undefined],
    [
      "elasticache, every secret and a KMS key",
      { ...ELASTICACHE, apiKeysSecret: API_KEYS_ARN, adminKeysSecret: ADMIN_ARN, secretsKmsKey: KMS_KEY_ARN },
      undefined,
    ],
    [
      "elasticache in an existing VPC",
      { ...ELASTICACHE, existingVpc: EXISTING_VPC, apiKeysSecret: API_KEYS_ARN },
      undefined,
    ],
    [
      "elasticache, both endpoints already in the VPC",
      {
        ...ELASTICACHE,
        existingVpc: { ...EXISTING_VPC, cidr: "10.20.0.0/16" },
        apiKeysSecret: API_KEYS_ARN,
        secretsEndpoint: "existing",
        sqsEndpoint: "existing",
      },
      "10.20.0.0/16",
    ],
  ])("in a VPC: %s", (_name, props, cidr) => {
    const { template } = synth(props);
    const all = Object.entries(counterFunctions(template));
    expect(all).toHaveLength(8);
    // The live publisher sits outside the VPC (tests/infra/live.test.ts): it has the internet.
    const functions = all.filter(([id]) => !id.startsWith("PublishFunction"));
    const called = new Map<string, Set<string>>();
    for (const [id, fn] of functions) {
      const groups = (fn.Properties.VpcConfig.SecurityGroupIds as Json[]).map(idOf);
      const services = servicesCalled(template, fn);
      called.set(id.replace(/[A-F0-9]{8}$/, ""), services);
      for (const service of services)
        expect(hasPath(template, groups, service, cidr), `${id} -> ${service}`).toBe(true);
    }
    // The derivation sees what matters: the events function and the live watcher send to SQS.
    expect(called.get("EventsFunction")?.has("sqs")).toBe(true);
    expect(called.get("WatchFunction")?.has("sqs")).toBe(true);
  });

  it("outside a VPC (Upstash), needs no endpoint: the functions have the internet", () => {
    const { template } = synth({ apiKeysSecret: API_KEYS_ARN });
    for (const fn of Object.values(counterFunctions(template)))
      expect(fn.Properties.VpcConfig).toBeUndefined();
    template.resourceCountIs("AWS::EC2::VPCEndpoint", 0);
  });
});
