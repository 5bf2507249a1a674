// Looks a deployed HighPress stack up with the usual AWS region and credential chain:
// its outputs and the physical names of its functions.

import type { FunctionId } from "../../bundling.ts";

/** One output of a deployed stack (ApiUrl, EventsQueueUrl, EventsDeadLetterQueueUrl, DashboardName). */
export async function stackOutput(stackName: string, key: string): Promise<string> {
  const { CloudFormationClient, DescribeStacksCommand } = await import("@aws-sdk/client-cloudformation");
  const out = await new CloudFormationClient({}).send(new DescribeStacksCommand({ StackName: stackName }));
  const value = out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  if (!value) throw new Error(`stack ${stackName} has no ${key} output`);
  return value;
}

export const stackApiUrl = (stackName: string): Promise<string> => stackOutput(stackName, "ApiUrl");

export async function stackFunctionName(stackName: string, id: FunctionId): Promise<string> {
  const { CloudFormationClient, DescribeStackResourcesCommand } = await import(
    "@aws-sdk/client-cloudformation"
  );
  const out = await new CloudFormationClient({}).send(
    new DescribeStackResourcesCommand({ StackName: stackName }),
  );
  // CDK names the resource <construct id><hash>: IncrementFunction1A2B3C4D.
  const found = out.StackResources?.find(
    (r) =>
      r.ResourceType === "AWS::Lambda::Function" &&
      new RegExp(`^${id}[0-9A-F]{8}$`).test(r.LogicalResourceId ?? ""),
  );
  if (!found?.PhysicalResourceId) throw new Error(`stack ${stackName} has no ${id}`);
  return found.PhysicalResourceId;
}

/** A Lambda client for a local endpoint (start-lambda) or, without one, for AWS. */
export async function lambdaClient(endpoint?: string) {
  const { LambdaClient } = await import("@aws-sdk/client-lambda");
  if (!endpoint) return new LambdaClient({});
  return new LambdaClient({
    endpoint,
    region: process.env.AWS_REGION ?? "us-east-1",
    // A local endpoint checks no signature, but the SDK signs every request.
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "local",
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "local",
    },
  });
}

export interface InvokeOutcome {
  statusCode?: number;
  functionError?: string;
  payload: unknown;
}

export async function invokeThroughApi(
  client: Awaited<ReturnType<typeof lambdaClient>>,
  functionName: string,
  event: unknown,
): Promise<InvokeOutcome> {
  const { InvokeCommand } = await import("@aws-sdk/client-lambda");
  const out = await client.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: new TextEncoder().encode(JSON.stringify(event)),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : "";
  const outcome: InvokeOutcome = { payload: text ? (JSON.parse(text) as unknown) : undefined };
  if (out.StatusCode !== undefined) outcome.statusCode = out.StatusCode;
  if (out.FunctionError !== undefined) outcome.functionError = out.FunctionError;
  return outcome;
}
