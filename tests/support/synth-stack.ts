// Synthesises the HighPress stack as `cdk synth` would (cdk.json's feature flags, path
// metadata on), bundling skipped, and reads the template back in small typed pieces.

import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { HighPressStack, type HighPressStackProps } from "../../infra/stack.ts";

/** The feature flags of cdk.json, as `cdk synth` applies them. */
const CDK_CONTEXT = JSON.parse(readFileSync("cdk.json", "utf8")).context as Record<string, unknown>;

export const SECRET_ARN =
  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:highpress/upstash-token-AbCdEf";
export const API_KEYS_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:highpress/api-keys-XyZaBc";

export const EXISTING_VPC = {
  vpcId: "vpc-0123456789abcdef0",
  availabilityZones: ["eu-west-1a", "eu-west-1b"],
  privateSubnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
};

export function synth(props: HighPressStackProps, stackName = "HighPressStack") {
  // Path metadata is on in `cdk synth` (SAM finds functions by it); tests turn it on too.
  const app = new App({
    context: { ...CDK_CONTEXT, "aws:cdk:bundling-stacks": [], "aws:cdk:enable-path-metadata": true },
  });
  const stack = new HighPressStack(app, stackName, props);
  return { stack, template: Template.fromStack(stack) };
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are free-form JSON, asserted field by field.
export type Json = any;
export interface Resource {
  Type: string;
  Properties: Record<string, Json>;
  Metadata?: Record<string, Json>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
export type Resources = Record<string, Resource>;

export const resourcesOf = (template: Template, type: string) => template.findResources(type) as Resources;

/** HighPress's own functions (not CDK's custom-resource handlers), by logical id. */
export function counterFunctions(template: Template): Resources {
  return Object.fromEntries(
    Object.entries(resourcesOf(template, "AWS::Lambda::Function")).filter(
      ([, fn]) => fn.Properties.Handler === "index.handler",
    ),
  );
}

/** The logical id of the role a function runs as. */
export const roleOf = (fn: Resource): string => fn.Properties.Role["Fn::GetAtt"][0];

export interface Statement {
  policy: string;
  roles: string[];
  effect: string;
  actions: string[];
  resources: unknown[];
  condition?: Json;
}

/** Every IAM statement of the template's AWS::IAM::Policy resources, with the roles it is attached to. */
export function statements(template: Template): Statement[] {
  return Object.entries(resourcesOf(template, "AWS::IAM::Policy")).flatMap(([policy, p]) =>
    (p.Properties.PolicyDocument.Statement as Record<string, Json>[]).map((s) => ({
      policy,
      roles: (p.Properties.Roles as { Ref: string }[]).map((r) => r.Ref),
      effect: s.Effect,
      actions: ([] as string[]).concat(s.Action),
      resources: ([] as unknown[]).concat(s.Resource),
      condition: s.Condition,
    })),
  );
}

/** The statements attached to one role. */
export const statementsOf = (template: Template, role: string) =>
  statements(template).filter((s) => s.roles.includes(role));
