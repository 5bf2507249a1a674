// API Gateway HTTP API (payload format 2.0) events, shaped as Lambda receives them.

import type { LambdaContext } from "hono/aws-lambda";
import type { ApiGatewayEvent as LambdaEvent } from "../../shared/runtime/lambda-adapter.ts";

export interface EventInput {
  method: "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS";
  path: string;
  /** The route that matched, e.g. `POST /api/v1/counter/increment`; `$default` when none did. */
  routeKey?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as is. */
  body?: unknown;
  base64?: boolean;
  pathParameters?: Record<string, string>;
}

export function apiGatewayEvent(input: EventInput): LambdaEvent {
  const rawQueryString = new URLSearchParams(input.query ?? {}).toString();
  const text =
    input.body === undefined
      ? undefined
      : typeof input.body === "string"
        ? input.body
        : JSON.stringify(input.body);
  const headers: Record<string, string> = {
    accept: "*/*",
    host: "abc123.execute-api.eu-west-1.amazonaws.com",
    "user-agent": "curl/8.5.0",
    "x-amzn-trace-id": "Root=1-6745f2a1-0123456789abcdef01234567",
    "x-forwarded-for": "203.0.113.10",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https",
    ...(text === undefined
      ? {}
      : { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) }),
    ...input.headers,
  };
  const event = {
    version: "2.0",
    routeKey: input.routeKey ?? `${input.method} ${input.path}`,
    rawPath: input.path,
    rawQueryString,
    headers,
    ...(rawQueryString ? { queryStringParameters: input.query } : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName: "abc123.execute-api.eu-west-1.amazonaws.com",
      domainPrefix: "abc123",
      http: {
        method: input.method,
        path: input.path,
        protocol: "HTTP/1.1",
        sourceIp: "203.0.113.10",
        userAgent: "curl/8.5.0",
      },
      requestId: "Cq3cBjHLDoEEMzQ=",
      routeKey: input.routeKey ?? `${input.method} ${input.path}`,
      stage: "$default",
      time: "26/Nov/2026:10:15:00 +0000",
      timeEpoch: 1795687500000,
    },
    ...(input.pathParameters ? { pathParameters: input.pathParameters } : {}),
    ...(text === undefined
      ? {}
      : {
          body: input.base64 ? Buffer.from(text).toString("base64") : text,
          isBase64Encoded: Boolean(input.base64),
        }),
    ...(text === undefined ? { isBase64Encoded: false } : {}),
  };
  return event as unknown as LambdaEvent;
}

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

/** The sample events in events/, one per route. */
export const SAMPLE_EVENTS: Record<string, EventInput> = {
  increment: {
    method: "POST",
    path: "/api/v1/counter/increment",
    body: { resource_id: "article_001", counter_type: "like", user_id: "user_123", increment: 1 },
  },
  "increment-view": {
    method: "POST",
    path: "/api/v1/counter/increment",
    headers: { "idempotency-key": "5f1c2a9e-view-42" },
    body: { resource_id: "article_001", counter_type: "view", user_id: "user_123", increment: 1 },
  },
  get: {
    method: "GET",
    path: "/api/v1/counter/article_001/like",
    routeKey: "GET /api/v1/counter/{resource_id}/{counter_type}",
    pathParameters: { resource_id: "article_001", counter_type: "like" },
    query: { user_id: "user_123" },
  },
  hot: {
    method: "GET",
    path: "/api/v1/counter/hot/like",
    routeKey: "GET /api/v1/counter/hot/{counter_type}",
    pathParameters: { counter_type: "like" },
    query: { limit: "10", period: "day" },
  },
  health: { method: "GET", path: "/health", query: { deep: "1" } },
  badge: {
    method: "GET",
    path: "/api/v1/counter/article_001/like/badge.svg",
    routeKey: "GET /api/v1/counter/{resource_id}/{counter_type}/badge.svg",
    pathParameters: { resource_id: "article_001", counter_type: "like" },
    query: { label: "likes", color: "green" },
  },
  "admin-set": {
    method: "PUT",
    path: "/api/v1/admin/counter/article_001/view",
    routeKey: "PUT /api/v1/admin/counter/{resource_id}/{counter_type}",
    pathParameters: { resource_id: "article_001", counter_type: "view" },
    headers: { authorization: "Bearer replace-with-an-admin-key" },
    body: { count: 125000 },
  },
  "admin-erase-user": {
    method: "DELETE",
    path: "/api/v1/admin/users/user_123",
    routeKey: "DELETE /api/v1/admin/users/{user_id}",
    pathParameters: { user_id: "user_123" },
    headers: { authorization: "Bearer replace-with-an-admin-key" },
  },
  batch: {
    method: "POST",
    path: "/api/v1/counter/batch",
    body: {
      queries: [
        { resource_id: "article_001", counter_type: "like" },
        { resource_id: "article_001", counter_type: "view" },
      ],
    },
  },
};
