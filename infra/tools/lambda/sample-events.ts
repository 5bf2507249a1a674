// `npm run sample-events`: writes events/, one API Gateway HTTP API (payload 2.0) event per
// route of the route table, as Lambda receives them, and an SQS event for the consumer whose
// message is made by the project's own encoder (what EventsFunction sends). `--check` compares
// instead of writing, and fails when a file is missing, stale or left over (CI runs it in a test).

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { encodeEvents } from "../../../shared/domain/events.ts";
import type { QueuedEvent } from "../../../shared/domain/model.ts";
import { LAMBDA_ROUTES, type RouteId } from "../../../shared/http/routes.ts";
import type { ApiGatewayEvent as LambdaEvent } from "../../../shared/runtime/lambda-adapter.ts";

/** When every sample was "sent": 2026-11-26T10:15:00Z. */
const SENT_AT = 1795687500000;

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
      timeEpoch: SENT_AT,
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

/** A sample: the route it is for, and the request. */
interface Sample {
  route: RouteId;
  input: EventInput;
}

/** The sample events, by file name (events/<name>.json): every route at least once. */
export const SAMPLE_EVENTS: Record<string, Sample> = {
  health: { route: "health", input: { method: "GET", path: "/health", query: { deep: "1" } } },
  increment: {
    route: "increment",
    input: {
      method: "POST",
      path: "/api/v1/counter/increment",
      body: { resource_id: "article_001", counter_type: "like", user_id: "user_123", increment: 1 },
    },
  },
  "increment-view": {
    route: "increment",
    input: {
      method: "POST",
      path: "/api/v1/counter/increment",
      headers: { "idempotency-key": "5f1c2a9e-view-42" },
      body: { resource_id: "article_001", counter_type: "view", user_id: "user_123", increment: 1 },
    },
  },
  increments: {
    route: "incrementMany",
    input: {
      method: "POST",
      path: "/api/v1/counter/increments",
      body: {
        increments: [
          { resource_id: "article_001", counter_type: "view", user_id: "user_123" },
          { resource_id: "article_002", counter_type: "like", user_id: "user_123" },
        ],
      },
    },
  },
  "queue-events": {
    route: "queueEvents",
    input: {
      method: "POST",
      path: "/api/v1/counter/events",
      body: {
        events: [
          { resource_id: "article_001", counter_type: "view", user_id: "user_123", event_id: "e-123" },
          { resource_id: "article_001", counter_type: "view", user_id: "user_456", event_id: "e-124" },
        ],
      },
    },
  },
  batch: {
    route: "batch",
    input: {
      method: "POST",
      path: "/api/v1/counter/batch",
      body: {
        queries: [
          { resource_id: "article_001", counter_type: "like" },
          { resource_id: "article_001", counter_type: "view" },
        ],
      },
    },
  },
  hot: {
    route: "hot",
    input: {
      method: "GET",
      path: "/api/v1/counter/hot/like",
      routeKey: "GET /api/v1/counter/hot/{counter_type}",
      pathParameters: { counter_type: "like" },
      query: { limit: "10", period: "day" },
    },
  },
  get: {
    route: "getCounter",
    input: {
      method: "GET",
      path: "/api/v1/counter/article_001/like",
      routeKey: "GET /api/v1/counter/{resource_id}/{counter_type}",
      pathParameters: { resource_id: "article_001", counter_type: "like" },
      query: { user_id: "user_123" },
    },
  },
  badge: {
    route: "badge",
    input: {
      method: "GET",
      path: "/api/v1/counter/article_001/like/badge.svg",
      routeKey: "GET /api/v1/counter/{resource_id}/{counter_type}/badge.svg",
      pathParameters: { resource_id: "article_001", counter_type: "like" },
      query: { label: "likes", color: "green" },
    },
  },
  history: {
    route: "history",
    input: {
      method: "GET",
      path: "/api/v1/counter/article_001/view/history",
      routeKey: "GET /api/v1/counter/{resource_id}/{counter_type}/history",
      pathParameters: { resource_id: "article_001", counter_type: "view" },
      query: { days: "30" },
    },
  },
  "history-svg": {
    route: "historySvg",
    input: {
      method: "GET",
      path: "/api/v1/counter/article_001/view/history.svg",
      routeKey: "GET /api/v1/counter/{resource_id}/{counter_type}/history.svg",
      pathParameters: { resource_id: "article_001", counter_type: "view" },
      query: { days: "30" },
    },
  },
  "admin-set": {
    route: "setCounter",
    input: {
      method: "PUT",
      path: "/api/v1/admin/counter/article_001/view",
      routeKey: "PUT /api/v1/admin/counter/{resource_id}/{counter_type}",
      pathParameters: { resource_id: "article_001", counter_type: "view" },
      headers: { authorization: "Bearer replace-with-an-admin-key" },
      body: { count: 125000 },
    },
  },
  "admin-reset": {
    route: "resetCounter",
    input: {
      method: "DELETE",
      path: "/api/v1/admin/counter/article_001/view",
      routeKey: "DELETE /api/v1/admin/counter/{resource_id}/{counter_type}",
      pathParameters: { resource_id: "article_001", counter_type: "view" },
      headers: { authorization: "Bearer replace-with-an-admin-key" },
    },
  },
  "admin-erase-user": {
    route: "eraseUser",
    input: {
      method: "DELETE",
      path: "/api/v1/admin/users/user_123",
      routeKey: "DELETE /api/v1/admin/users/{user_id}",
      pathParameters: { user_id: "user_123" },
      headers: { authorization: "Bearer replace-with-an-admin-key" },
    },
  },
};

/** The consumer's sample: the events of `queue-events` as EventsFunction sends them, in one SQS message. */
export const CONSUME_SAMPLE = "consume";

export function sqsSampleEvent(): unknown {
  const events: QueuedEvent[] = [
    {
      resourceId: "article_001",
      type: "view",
      kind: "total",
      userId: "user_123",
      delta: 1,
      eventId: "e-123",
    },
    {
      resourceId: "article_001",
      type: "view",
      kind: "total",
      userId: "user_456",
      delta: 1,
      eventId: "e-124",
    },
  ];
  return sqsEvent(events, SENT_AT);
}

/** An SQS event of one message holding these events, as EventsFunction encodes them. */
export function sqsEvent(events: readonly QueuedEvent[], acceptedAt: number): unknown {
  const body = encodeEvents(events, acceptedAt);
  return {
    Records: [
      {
        messageId: "059f36b4-87a3-44ab-83d2-661975830a7d",
        receiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a-sample",
        body,
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: String(acceptedAt),
          SenderId: "AROAEXAMPLE:HighPressStack-EventsFunction",
          ApproximateFirstReceiveTimestamp: String(acceptedAt + 1500),
        },
        messageAttributes: {},
        md5OfBody: createHash("md5").update(body).digest("hex"),
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:HighPressStack-EventsQueue",
        awsRegion: "eu-west-1",
      },
    ],
  };
}

/** Every sample file's name and content, as written. */
export function sampleFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, { input }] of Object.entries(SAMPLE_EVENTS)) {
    files[`${name}.json`] = `${JSON.stringify(apiGatewayEvent(input), null, 2)}\n`;
  }
  files[`${CONSUME_SAMPLE}.json`] = `${JSON.stringify(sqsSampleEvent(), null, 2)}\n`;
  return files;
}

/** The routes no sample covers (empty when every route has one). */
export const routesWithoutSample = (): RouteId[] =>
  LAMBDA_ROUTES.map((r) => r.id).filter((id) => !Object.values(SAMPLE_EVENTS).some((s) => s.route === id));

/** What differs between events/ and the samples: missing, stale or left-over files. */
export function sampleDrift(dir: string): string[] {
  const files = sampleFiles();
  const present = readdirSync(dir).filter((f) => f.endsWith(".json"));
  const problems = present.filter((f) => !(f in files)).map((f) => `${f}: no sample makes it (left over)`);
  for (const [name, content] of Object.entries(files)) {
    if (!present.includes(name)) problems.push(`${name}: missing`);
    else if (readFileSync(join(dir, name), "utf8") !== content) problems.push(`${name}: stale`);
  }
  return problems;
}

function main(): number {
  const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
  const dir = "events";
  if (values.check) {
    const problems = [...sampleDrift(dir), ...routesWithoutSample().map((id) => `route ${id}: no sample`)];
    for (const p of problems) process.stderr.write(`sample-events: ${p}\n`);
    return problems.length > 0 ? 1 : 0;
  }
  for (const [name, content] of Object.entries(sampleFiles())) writeFileSync(join(dir, name), content);
  process.stdout.write(`wrote ${Object.keys(sampleFiles()).length} sample events to ${dir}/\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main());
