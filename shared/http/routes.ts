// The route table: every route of the API declared once, with the Lambda function that
// serves it, its schemas (path, query, headers, body, answer), examples and the error
// statuses it can answer. The app (and its 404/405), the OpenAPI document, the CDK stack,
// functions/*.ts and the typed client all read it; adding a route is one entry here plus
// one handler (handlers/). The hand-written checks that the hot path runs (validation.ts)
// sit beside the zod schemas named here, and the property tests hold them to one answer.

import * as z from "zod/mini";
import type { HttpFunctionId } from "../domain/functions.ts";
import { PERIODS } from "../domain/model.ts";
import {
  AcceptedResponse,
  BadgeResponse,
  BatchResponse,
  CounterResponse,
  EraseResponse,
  HealthResponse,
  HotResponse,
  IncrementResponse,
  IncrementsResponse,
} from "./responses.ts";
import {
  BADGE_COLOR,
  BADGE_COLORS,
  BADGE_LABEL,
  BADGE_LABEL_MAX,
  BatchBody,
  DEFAULT_RANKING_LIMIT,
  EventsBody,
  IDEMPOTENCY_KEY,
  IDENTIFIER,
  IncrementBody,
  IncrementsBody,
  MAX_RANKING_LIMIT,
  SetCountBody,
} from "./schemas.ts";

export type { HttpFunctionId };
/** The function API Gateway sends whatever no route matches: it answers the JSON 404 or 405. */
export const CATCH_ALL_FUNCTION: HttpFunctionId = "GetFunction";

export type RouteId =
  | "health"
  | "increment"
  | "incrementMany"
  | "queueEvents"
  | "batch"
  | "hot"
  | "getCounter"
  | "badge"
  | "setCounter"
  | "resetCounter"
  | "eraseUser";
export type Method = "GET" | "POST" | "PUT" | "DELETE";

/** What examples are made of: the first unique and total counter types configured, the version. */
export interface ExampleTypes {
  unique: string;
  total: string;
  version: string;
}

export interface RouteSpec {
  id: RouteId;
  method: Method;
  /** OpenAPI template: `{name}` is one path segment. */
  path: string;
  fn: HttpFunctionId;
  /**
   * Who may call it: `write` needs an API key when keys are set; `read` only with READ_AUTH;
   * `admin` an admin key (ADMIN_KEYS), and without ADMIN_KEYS the route does not exist.
   */
  auth: "none" | "read" | "write" | "admin";
  tag: "counters" | "ranking" | "service" | "admin";
  summary: string;
  description?: string;
  params?: z.ZodMiniObject;
  query?: z.ZodMiniObject;
  headers?: z.ZodMiniObject;
  body?: { schema: z.ZodMiniType; examples: (t: ExampleTypes) => Record<string, unknown> };
  /** The 200 answer: its schema (named in the document's components), an example, and its media type when not JSON. */
  answer: {
    name: string;
    schema: z.ZodMiniType;
    example: (t: ExampleTypes) => unknown;
    mediaType?: "image/svg+xml";
    /** The success status when not 200 (202 for queued events). */
    status?: 202;
  };
  /** Error statuses beyond 500 and 503 (which every route may answer), each with an example message. */
  errors: [number, string][];
}

/** What `/health?deep=` takes: the route's schema and the handler's check read it. */
export const HEALTH_DEEP = ["1", "true", "0", "false"] as const;

const identifier = z.string().check(z.regex(IDENTIFIER), z.minLength(1), z.maxLength(128));
/** The document lists the configured types as this parameter's enum. */
const counterType = z.string();
const RANKING_LIMIT = z._default(
  z.int().check(z.minimum(1), z.maximum(MAX_RANKING_LIMIT)),
  DEFAULT_RANKING_LIMIT,
);

/** The header a write may carry to be retried safely. */
const IDEMPOTENCY_HEADERS = z.object({
  "Idempotency-Key": z.optional(z.string().check(z.minLength(1), z.maxLength(128), z.regex(IDEMPOTENCY_KEY))),
});

const ADMIN_AUTH_ERRORS: [number, string][] = [
  [401, "Authorization: an admin key is required (Authorization: Bearer <key> or x-api-key)"],
  [403, "Authorization: this key may write counters but not administer them"],
];

const BODY_ERRORS: [number, string][] = [
  [413, "body: must be at most 65536 bytes"],
  [415, "Content-Type: must be application/json, got text/plain"],
];

export const ROUTES: readonly RouteSpec[] = [
  {
    id: "health",
    method: "GET",
    path: "/health",
    fn: "GetFunction",
    auth: "none",
    tag: "service",
    summary: "Health of the service; with deep=1 also of the store",
    query: z.object({ deep: z.optional(z.enum(HEALTH_DEEP)) }),
    answer: {
      name: "Health",
      schema: HealthResponse,
      example: (t) => ({
        status: "ok",
        service: "highpress",
        version: t.version,
        store: "redis",
        store_latency_ms: 0.4,
      }),
    },
    errors: [[400, `deep: must be one of ${HEALTH_DEEP.join(", ")}`]],
  },
  {
    id: "increment",
    method: "POST",
    path: "/api/v1/counter/increment",
    fn: "IncrementFunction",
    auth: "write",
    tag: "counters",
    summary: "Add to a counter, or add/remove a user of a unique counter",
    description:
      "`count` is the value after this request; `applied` is false when nothing changed. Concurrent increments are never lost or applied twice. With an `Idempotency-Key`, a retry of the same request within 24 h is not applied again and gets the first answer back (header `Idempotent-Replayed: true`).",
    headers: IDEMPOTENCY_HEADERS,
    body: {
      schema: IncrementBody,
      examples: (t) => ({
        like: { resource_id: "article_001", counter_type: t.unique, user_id: "user_123", increment: 1 },
        view: { resource_id: "article_001", counter_type: t.total, user_id: "user_123", increment: 1 },
      }),
    },
    answer: {
      name: "IncrementResult",
      schema: IncrementResponse,
      example: (t) => ({
        success: true,
        data: { resource_id: "article_001", counter_type: t.unique, count: 42, success: true, applied: true },
      }),
    },
    errors: [
      [400, "increment: must be 1 or -1 for the unique counter type like"],
      [401, "Authorization: an API key is required (Authorization: Bearer <key> or x-api-key)"],
      ...BODY_ERRORS,
      [409, "increment: the count would exceed 9007199254740991; nothing was applied"],
      [422, "Idempotency-Key: this key was already used with a different request"],
      [429, "Too many requests"],
    ],
  },
  {
    id: "incrementMany",
    method: "POST",
    path: "/api/v1/counter/increments",
    fn: "IncrementFunction",
    auth: "write",
    tag: "counters",
    summary: "Apply 1 to 100 increments in one request (one store round trip)",
    description:
      "Each item follows the rules of a single increment and answers as one, in order (`count` is the value after that item). Any invalid item is a 400 naming it (`increments[3].counter_type`), and then nothing is applied. An `Idempotency-Key` covers the whole batch: a retry gets the first answer back, and a retry after a failure applies each item exactly once. Rate limits count each item against its user_id and the request once against the address and the key.",
    headers: IDEMPOTENCY_HEADERS,
    body: {
      schema: IncrementsBody,
      examples: (t) => ({
        mixed: {
          increments: [
            { resource_id: "article_001", counter_type: t.total, user_id: "user_123", increment: 1 },
            { resource_id: "article_002", counter_type: t.unique, user_id: "user_123", increment: 1 },
          ],
        },
      }),
    },
    answer: {
      name: "IncrementsResult",
      schema: IncrementsResponse,
      example: (t) => ({
        success: true,
        data: [
          { resource_id: "article_001", counter_type: t.total, count: 7, success: true, applied: true },
          { resource_id: "article_002", counter_type: t.unique, count: 3, success: true, applied: true },
        ],
      }),
    },
    errors: [
      [400, "increments[1].counter_type: must be one of like, follow, view"],
      [401, "Authorization: an API key is required (Authorization: Bearer <key> or x-api-key)"],
      ...BODY_ERRORS,
      [409, "increments[0].increment: the count would exceed 9007199254740991; nothing was applied"],
      [422, "Idempotency-Key: this key was already used with a different request for increments[1]"],
      [429, "Too many requests"],
    ],
  },
  {
    id: "queueEvents",
    method: "POST",
    path: "/api/v1/counter/events",
    fn: "EventsFunction",
    auth: "write",
    tag: "counters",
    summary: "Queue 1 to 100 increments as events, counted shortly after (202)",
    description:
      "The items of a batch of increments, each with an optional `event_id` (1-128 printable ASCII). Answers 202 once the events are durably queued, before they are counted (on AWS an SQS queue, locally the store; counted within a few seconds). A consumer applies them coalesced, one store call per counter, each event once: a redelivery, or a retried POST with the same `event_id`s or the same `Idempotency-Key`, within 24 h counts nothing twice. Events without an event_id or a key are counted once per POST.",
    headers: IDEMPOTENCY_HEADERS,
    body: {
      schema: EventsBody,
      examples: (t) => ({
        views: {
          events: [
            { resource_id: "article_001", counter_type: t.total, user_id: "user_123", event_id: "e-123" },
            { resource_id: "article_001", counter_type: t.total, user_id: "user_456", event_id: "e-124" },
          ],
        },
      }),
    },
    answer: {
      name: "AcceptedResult",
      schema: AcceptedResponse,
      status: 202,
      example: () => ({ success: true, data: { accepted: 2 } }),
    },
    errors: [
      [400, "events[1].event_id: must be 1-128 printable ASCII characters"],
      [401, "Authorization: an API key is required (Authorization: Bearer <key> or x-api-key)"],
      ...BODY_ERRORS,
      [429, "Too many requests"],
    ],
  },
  {
    id: "batch",
    method: "POST",
    path: "/api/v1/counter/batch",
    fn: "BatchFunction",
    auth: "read",
    tag: "counters",
    summary: "Read 1 to 100 counters in one store round trip",
    body: {
      schema: BatchBody,
      examples: (t) => ({
        two: {
          queries: [
            { resource_id: "article_001", counter_type: t.unique },
            { resource_id: "article_001", counter_type: t.total },
          ],
        },
      }),
    },
    answer: {
      name: "BatchResult",
      schema: BatchResponse,
      example: (t) => ({
        success: true,
        data: [
          { resource_id: "article_001", counter_type: t.unique, count: 3 },
          { resource_id: "article_001", counter_type: t.total, count: 6 },
        ],
      }),
    },
    errors: [[400, "queries: must hold at most 100 queries"], ...BODY_ERRORS, [429, "Too many requests"]],
  },
  // Before the single read: `hot/{type}` would also match `{resource_id}/{counter_type}`.
  {
    id: "hot",
    method: "GET",
    path: "/api/v1/counter/hot/{counter_type}",
    fn: "GetFunction",
    auth: "read",
    tag: "ranking",
    summary: "The hot ranking: highest first, ties by resource_id",
    description:
      "`hour`, `day` and `week` are UTC calendar buckets (the ISO week): what was added in the current one. `all` ranks the counter values.",
    params: z.object({ counter_type: counterType }),
    query: z.object({
      limit: z.optional(RANKING_LIMIT),
      period: z.optional(z._default(z.enum(PERIODS), "day")),
    }),
    answer: {
      name: "HotResult",
      schema: HotResponse,
      example: (t) => ({
        success: true,
        data: {
          counter_type: t.unique,
          period: "day",
          items: [
            { resource_id: "article_001", count: 120 },
            { resource_id: "article_002", count: 80 },
          ],
        },
      }),
    },
    errors: [
      [400, "limit: must be an integer from 1 to 100"],
      [429, "Too many requests"],
    ],
  },
  {
    id: "getCounter",
    method: "GET",
    path: "/api/v1/counter/{resource_id}/{counter_type}",
    fn: "GetFunction",
    auth: "read",
    tag: "counters",
    summary: "Read one counter",
    description:
      "A counter never incremented reads 0. Total types add `unique_users` (approximate). Unique types take `user_id` and add `member`. A resource named `hot` is read with the batch route: that path is the ranking.",
    params: z.object({ resource_id: identifier, counter_type: counterType }),
    query: z.object({ user_id: z.optional(identifier) }),
    answer: {
      name: "CounterResult",
      schema: CounterResponse,
      example: (t) => ({
        success: true,
        data: { resource_id: "article_001", counter_type: t.total, count: 6, unique_users: 4 },
      }),
    },
    errors: [
      [400, "resource_id: must be 1-128 characters from A-Z a-z 0-9 _ - . : @"],
      [429, "Too many requests"],
    ],
  },
  {
    id: "badge",
    method: "GET",
    path: "/api/v1/counter/{resource_id}/{counter_type}/badge.svg",
    fn: "GetFunction",
    auth: "read",
    tag: "counters",
    summary: "The count as a flat SVG badge, for a README or a page",
    description: `Label (default: the counter type; at most ${BADGE_LABEL_MAX} characters, shown as text) and the count abbreviated (1.2k, 3.4M). Cached for 60 s (privately under READ_AUTH). A bad parameter is a 400 JSON envelope, as everywhere.`,
    params: z.object({ resource_id: identifier, counter_type: counterType }),
    query: z.object({
      label: z.optional(z.string().check(z.regex(BADGE_LABEL))),
      color: z.optional(z.string().check(z.regex(BADGE_COLOR))),
    }),
    answer: {
      name: "Badge",
      schema: BadgeResponse,
      mediaType: "image/svg+xml",
      example: () =>
        '<svg xmlns="http://www.w3.org/2000/svg" width="78" height="20" role="img" aria-label="like: 1.2k">…</svg>',
    },
    errors: [
      [400, `color: must be one of ${[...BADGE_COLORS.keys()].join(", ")}, or 3 or 6 hex digits`],
      [429, "Too many requests"],
    ],
  },
  {
    id: "setCounter",
    method: "PUT",
    path: "/api/v1/admin/counter/{resource_id}/{counter_type}",
    fn: "AdminFunction",
    auth: "admin",
    tag: "admin",
    summary: "Set a total counter (and its all-time ranking score)",
    description:
      "For a count carried over from another system, or a bot's inflation undone. A unique type is a 409: its count is its set of users. Answers the counter as GET shows it.",
    params: z.object({ resource_id: identifier, counter_type: counterType }),
    body: { schema: SetCountBody, examples: () => ({ carried: { count: 125000 } }) },
    answer: {
      name: "AdminCounterResult",
      schema: CounterResponse,
      example: (t) => ({
        success: true,
        data: { resource_id: "article_001", counter_type: t.total, count: 125000, unique_users: 0 },
      }),
    },
    errors: [
      [400, "count: must be an integer from 0 to 9007199254740991"],
      ...ADMIN_AUTH_ERRORS,
      ...BODY_ERRORS,
      [409, "counter_type: like is a unique type: its count is its set of users, changed only by increments"],
    ],
  },
  {
    id: "resetCounter",
    method: "DELETE",
    path: "/api/v1/admin/counter/{resource_id}/{counter_type}",
    fn: "AdminFunction",
    auth: "admin",
    tag: "admin",
    summary: "Reset a counter of either kind to 0",
    description:
      "Its count, its set of users or its HyperLogLog, and its place in every ranking. Answers the counter as GET shows it.",
    params: z.object({ resource_id: identifier, counter_type: counterType }),
    answer: {
      name: "AdminCounterResult",
      schema: CounterResponse,
      example: (t) => ({
        success: true,
        data: { resource_id: "article_001", counter_type: t.unique, count: 0 },
      }),
    },
    errors: [[400, "counter_type: must be one of like, follow, view"], ...ADMIN_AUTH_ERRORS],
  },
  {
    id: "eraseUser",
    method: "DELETE",
    path: "/api/v1/admin/users/{user_id}",
    fn: "AdminFunction",
    auth: "admin",
    tag: "admin",
    summary: "Erase a user from every unique counter (GDPR Art. 17)",
    description:
      "Counts and rankings go down as for an unlike. Rerunnable: a run that failed half way is finished by the next. A total counter's HyperLogLog of users cannot forget one user.",
    params: z.object({ user_id: identifier }),
    answer: {
      name: "EraseResult",
      schema: EraseResponse,
      example: () => ({ success: true, data: { user_id: "user_123", removed: 3 } }),
    },
    errors: [[400, "user_id: must be 1-128 characters from A-Z a-z 0-9 _ - . : @"], ...ADMIN_AUTH_ERRORS],
  },
];

export const ROUTE: Readonly<Record<RouteId, RouteSpec>> = Object.fromEntries(
  ROUTES.map((r) => [r.id, r]),
) as Record<RouteId, RouteSpec>;

/** A matcher for a route's path, with an optional trailing slash, as Hono matches it. */
const pathPattern = (path: string): RegExp => new RegExp(`^${path.replace(/\{[a-z_]+\}/g, "[^/]+")}/?$`);

/** The route's path in Hono's syntax (`:name`). */
export const honoPath = (path: string): string => path.replace(/\{([a-z_]+)\}/g, ":$1");

/** A route's path with its parameters filled in, each encoded as one segment. */
export function pathOf(id: RouteId, params: Record<string, string> = {}): string {
  return ROUTE[id].path.replace(/\{([a-z_]+)\}/g, (_, name: string) =>
    encodeURIComponent(params[name] ?? ""),
  );
}

/** Each route's path matcher, made once: for 404/405 and the template a request is recorded under. */
const MATCHERS = ROUTES.map((route) => ({ route, pattern: pathPattern(route.path) }));

/** The routes whose path matches, whatever their method. */
export const routesMatching = (path: string): RouteSpec[] =>
  MATCHERS.filter((m) => m.pattern.test(path)).map((m) => m.route);
