// API Gateway HTTP API (payload format 2.0) events, shaped as Lambda receives them: the
// factory lives with the sample events it writes (infra/tools/lambda/sample-events.ts).

import type { LambdaContext } from "hono/aws-lambda";

export { apiGatewayEvent, type EventInput, SAMPLE_EVENTS } from "../../infra/tools/lambda/sample-events.ts";

export function lambdaContext(functionName = "HighPressStack-IncrementFunction"): LambdaContext {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: "8f507cfc-0000-4000-8000-000000000001",
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "2026/11/26/[$LATEST]0123456789abcdef",
    getRemainingTimeInMillis: () => 10_000,
  } as unknown as LambdaContext;
}
