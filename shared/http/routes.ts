// The route table: every route of the API declared once, with the Lambda function that
// serves it, who may call it, the rate limits it counts against, its schemas (path, query,
// headers, body, answer), examples and the error statuses it can answer. The mount loop
// (execute.ts) runs it: it checks each request against the route's schemas and auth and
// hands the handler typed input. The OpenAPI document, the CDK stack, functions/*.ts and the
// typed client read it too. Adding a route is one entry here plus one handler (handlers/).

import type * as z from "zod/mini";
import type { HttpFunctionId } from "../domain/functions.ts";
import { DEFAULT_HISTORY_DAYS, MAX_HISTORY_QUERY_DAYS } from "../domain/history.ts";
import { DEFAULT_LIVE_INTERVAL_MS } from "../domain/live.ts";
import type { CounterTypes } from "../domain/model.ts";
import { acceptBatch, acceptEvents, acceptIncrement, acceptIncrements } from "./fast-paths.ts";
import type { AnswerName } from "./responses.ts";
import { BADGE_COLORS, BADGE_LABEL_MAX, HEALTH_DEEP, type RequestSchemas } from "./schemas.ts";

export type { HttpFunctionId };
export { HEALTH_DEEP };
/** The function API Gateway sends whatever no route matches: it answers the JSON 404 or 405. */
export const CATCH_ALL_FUNCTION: HttpFunctionId = "GetFunction";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

/** Where a route no Lambda function can serve is answered: the local server only (a stream). */
export const LOCAL_SERVER = "LocalServer" as const;
/** What serves a route: a Lambda function (and the local server), or the local server only. */
export type ServedBy = HttpFunctionId | typeof LOCAL_SERVER;

/** What examples are made of: the first unique and total counter types configured, the version. */
export interface ExampleTypes {
  unique: string;
  total: string;
  version: string;
}

/** The schemas a route checks its input with, made for the configured counter types. */
export interface InputSchemas {
  params?: z.ZodMiniObject;
  query?: z.ZodMiniObject;
  headers?: z.ZodMiniObject;
  body?: z.ZodMiniType;
}

type Out<S> = S extends z.ZodMiniType ? z.output<S> : Record<string, never>;
/** What a route's handler is handed: its input as its schemas output it. */
export interface ParsedInput<I extends InputSchemas> {
  params: Out<I["params"]>;
  query: Out<I["query"]>;
  headers: Out<I["headers"]>;
  body: Out<I["body"]>;
}

/**
 * The rate limits a route counts against. `request`: the address and the key, once, checked
 * by the mount loop before the handler. `items`: the address and the key once and each
 * item's user_id, handed to the handler, which counts them in the same store call as the
 * write (so a refused write counts nothing). Admin routes and /health count none.
 */
export type RateClass<B> =
  | { per: "request" }
  | { per: "items"; field: string; users: (body: B) => readonly string[] }
  | { per: "none" };

export interface RouteSpec<I extends InputSchemas = InputSchemas> {
  method: Method;
  /** OpenAPI template: `{name}` is one path segment. */
  path: string;
  fn: ServedBy;
  /**
   * Who may call it: `write` needs an API key when keys are set; `read` only with READ_AUTH;
   * `admin` an admin key (ADMIN_KEYS), and without ADMIN_KEYS the route does not exist.
   */
  auth: "none" | "read" | "write" | "admin";
  rate: RateClass<Out<I["body"]>>;
  tag: "counters" | "ranking" | "service" | "admin";
  summary: string;
  description?: string;
  /** Its params, query, headers and body schemas, picked from the configuration's set. */
  input: (s: RequestSchemas) => I;
  /**
   * A hand-written check of a valid body, for the hot path: the body as the schema outputs
   * it, or undefined (the schema then explains). Held to the schema by a property test.
   */
  fast?: (body: unknown, types: CounterTypes) => Out<I["body"]> | undefined;
  /** Named examples of its body. */
  examples?: (t: ExampleTypes) => Record<string, unknown>;
  /**
   * The 200 answer: its schema's name (responses.ts; the schemas are the document's and the
   * client's, not a function's), an example, and its media type when not JSON.
   */
  answer: {
    name: AnswerName;
    example: (t: ExampleTypes) => unknown;
    mediaType?: "image/svg+xml" | "text/event-stream";
    /** The success status when not 200 (202 for queued events). */
    status?: 202;
  };
  /** Error statuses beyond 500 and 503 (which every route may answer), each with an example message. */
  errors: [number, string][];
}

/** A route entry, its input types kept for its handler. */
const route = <I extends InputSchemas>(spec: RouteSpec<I>): RouteSpec<I> => spec;

const ADMIN_AUTH_ERRORS: [number, string][] = [
  [401, "Authorization: an admin key is required (Authorization: Bearer <key> or x-api-key)"],
  [403, "Authorization: this key may write counters but not administer them"],
];

const BODY_ERRORS: [number, string][] = [
  [413, "body: must be at most 65536 bytes"],
  [415, "Content-Type: must be application/json, got text/plain"],
];

const TABLE = {
  health: route({
    method: "GET",
    path: "/health",
    fn: "GetFunction",
    auth: "none",
    tag: "service",
    summary: "Health of the service; with deep=1 also of the store",
    input: (s) => ({ query: s.healthQuery }),
    rate: { per: "none" },
    answer: {
      name: "Health",
      example: (t) => ({
        status: "ok",
        service: "highpress",
        version: t.version,
        store: "redis",
        store_latency_ms: 0.4,
      }),
    },
    errors: [[400, `deep: must be one of ${HEALTH_DEEP.join(", ")}`]],
  }),
  increment: route({
    method: "POST",
    path: "/api/v1/counter/increment",
    fn: "IncrementFunction",
    auth: "write",
    tag: "counters",
    summary: "Add to a counter, or add/remove a user of a unique counter",
    description:
      "`count` is the value after this request; `applied` is false when nothing changed. Concurrent increments are never lost or applied twice. With an `Idempotency-Key`, a retry of the same request within 24 h is not applied again and gets the first answer back (header `Idempotent-Replayed: true`).",
    input: (s) => ({ headers: s.idempotency, body: s.increment }),
    rate: { per: "items", field: "", users: (b) => [b.user_id] },
    fast: acceptIncrement,
    examples: (t) => ({
      like: { resource_id: "article_001", counter_type: t.unique, user_id: "user_123", increment: 1 },
      view: { resource_id: "article_001", counter_type: t.total, user_id: "user_123", increment: 1 },
    }),
    answer: {
      name: "IncrementResult",
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
  }),
  incrementMany: route({
    method: "POST",
    path: "/api/v1/counter/increments",
    fn: "IncrementFunction",
    auth: "write",
    tag: "counters",
    summary: "Apply 1 to 100 increments in one request (one store round trip)",
    description:
      "Each item follows the rules of a single increment and answers as one, in order (`count` is the value after that item). Any invalid item is a 400 naming it (`increments[3].counter_type`), and then nothing is applied. An `Idempotency-Key` covers the whole batch: a retry gets the first answer back, and a retry after a failure applies each item exactly once. Rate limits count each item against its user_id and the request once against the address and the key.",
    input: (s) => ({ headers: s.idempotency, body: s.increments }),
    rate: { per: "items", field: "increments", users: (b) => b.increments.map((i) => i.user_id) },
    fast: acceptIncrements,
    examples: (t) => ({
      mixed: {
        increments: [
          { resource_id: "article_001", counter_type: t.total, user_id: "user_123", increment: 1 },
          { resource_id: "article_002", counter_type: t.unique, user_id: "user_123", increment: 1 },
        ],
      },
    }),
    answer: {
      name: "IncrementsResult",
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
      [422, "Idempotency-Key: this key was already used with a different request"],
      [429, "Too many requests"],
    ],
  }),
  queueEvents: route({
    method: "POST",
    path: "/api/v1/counter/events",
    fn: "EventsFunction",
    auth: "write",
    tag: "counters",
    summary: "Queue 1 to 100 increments as events, counted shortly after (202)",
    description:
      "The items of a batch of increments, each with an optional `event_id` (1-128 printable ASCII, not starting with `auto:` or `idem:`, the ids the service gives events without one). Answers 202 once the events are durably queued, before they are counted (on AWS an SQS queue, locally the store; counted within a few seconds). A consumer applies them coalesced, one store call per counter, each event once: a redelivery, or a retried POST with the same `event_id`s or the same `Idempotency-Key`, within 24 h counts nothing twice; the same key with other events is a 422 that queues nothing. Events without an event_id or a key are counted once per POST.",
    input: (s) => ({ headers: s.idempotency, body: s.events }),
    rate: { per: "items", field: "events", users: (b) => b.events.map((e) => e.user_id) },
    fast: acceptEvents,
    examples: (t) => ({
      views: {
        events: [
          { resource_id: "article_001", counter_type: t.total, user_id: "user_123", event_id: "e-123" },
          { resource_id: "article_001", counter_type: t.total, user_id: "user_456", event_id: "e-124" },
        ],
      },
    }),
    answer: {
      name: "AcceptedResult",
      status: 202,
      example: () => ({ success: true, data: { accepted: 2 } }),
    },
    errors: [
      [
        400,
        "events[1].event_id: must be 1-128 printable ASCII characters, not starting with auto: or idem: (the service's own ids)",
      ],
      [401, "Authorization: an API key is required (Authorization: Bearer <key> or x-api-key)"],
      ...BODY_ERRORS,
      [422, "Idempotency-Key: this key was already used with a different request"],
      [429, "Too many requests"],
    ],
  }),
  batch: route({
    method: "POST",
    path: "/api/v1/counter/batch",
    fn: "BatchFunction",
    auth: "read",
    tag: "counters",
    summary: "Read 1 to 100 counters in one store round trip",
    input: (s) => ({ body: s.batch }),
    rate: { per: "request" },
    fast: acceptBatch,
    examples: (t) => ({
      two: {
        queries: [
          { resource_id: "article_001", counter_type: t.unique },
          { resource_id: "article_001", counter_type: t.total },
        ],
      },
    }),
    answer: {
      name: "BatchResult",
      example: (t) => ({
        success: true,
        data: [
          { resource_id: "article_001", counter_type: t.unique, count: 3 },
          { resource_id: "article_001", counter_type: t.total, count: 6 },
        ],
      }),
    },
    errors: [[400, "queries: must hold at most 100 queries"], ...BODY_ERRORS, [429, "Too many requests"]],
  }),
  // Before the single read: `hot/{type}` would also match `{resource_id}/{counter_type}`.
  hot: route({
    method: "GET",
    path: "/api/v1/counter/hot/{counter_type}",
    fn: "GetFunction",
    auth: "read",
    tag: "ranking",
    summary: "The hot ranking: highest first, ties by resource_id",
    description:
      "`hour`, `day` and `week` are UTC calendar buckets (the ISO week): what was added in the current one; `week` sums its days and is at most a minute behind. `all` ranks the counter values.",
    input: (s) => ({ params: s.rankingParams, query: s.rankingQuery }),
    rate: { per: "request" },
    answer: {
      name: "HotResult",
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
  }),
  getCounter: route({
    method: "GET",
    path: "/api/v1/counter/{resource_id}/{counter_type}",
    fn: "GetFunction",
    auth: "read",
    tag: "counters",
    summary: "Read one counter",
    description:
      "A counter never incremented reads 0. Total types add `unique_users` (approximate). Unique types take `user_id` and add `member`. A resource named `hot` is read with the batch route: that path is the ranking.",
    input: (s) => ({ params: s.counter, query: s.readQuery }),
    rate: { per: "request" },
    answer: {
      name: "CounterResult",
      example: (t) => ({
        success: true,
        data: { resource_id: "article_001", counter_type: t.total, count: 6, unique_users: 4 },
      }),
    },
    errors: [
      [400, "resource_id: must be 1-128 characters from A-Z a-z 0-9 _ - . : @"],
      [429, "Too many requests"],
    ],
  }),
  badge: route({
    method: "GET",
    path: "/api/v1/counter/{resource_id}/{counter_type}/badge.svg",
    fn: "GetFunction",
    auth: "read",
    tag: "counters",
    summary: "The count as a flat SVG badge, for a README or a page",
    description: `Label (default: the counter type; at most ${BADGE_LABEL_MAX} characters, shown as text) and the count abbreviated (1.2k, 3.4M). Cached for 60 s (privately under READ_AUTH). A bad parameter is a 400 JSON envelope, as everywhere.`,
    input: (s) => ({ params: s.counter, query: s.badgeQuery }),
    rate: { per: "request" },
    answer: {
      name: "Badge",
      mediaType: "image/svg+xml",
      example: () =>
        '<svg xmlns="http://www.w3.org/2000/svg" width="78" height="20" role="img" aria-label="like: 1.2k">…</svg>',
    },
    errors: [
      [400, `color: must be one of ${[...BADGE_COLORS.keys()].join(", ")}, or 3 or 6 hex digits`],
      [429, "Too many requests"],
    ],
  }),
  history: route({
    method: "GET",
    path: "/api/v1/counter/{resource_id}/{counter_type}/history",
    fn: "GetFunction",
    auth: "read",
    tag: "counters",
    summary: "A counter's net change on each of the last days, and its count",
    description: `One entry per UTC calendar day, oldest first, ending today: the day's net change (a like and an unlike the same day net 0; replays and duplicate event ids add nothing; a queued event counts on the day it was accepted; an admin set records the difference, a reset clears the history, an erasure counts as an unlike on its day). A counter keeps at most HISTORY_DAYS days (default ${DEFAULT_HISTORY_DAYS}).`,
    input: (s) => ({ params: s.counter, query: s.historyQuery }),
    rate: { per: "request" },
    answer: {
      name: "HistoryResult",
      example: (t) => ({
        success: true,
        data: {
          resource_id: "article_001",
          counter_type: t.total,
          count: 11,
          days: [
            { date: "2026-12-05", delta: 4 },
            { date: "2026-12-06", delta: 7 },
          ],
        },
      }),
    },
    errors: [
      [400, `days: must be an integer from 1 to ${MAX_HISTORY_QUERY_DAYS}`],
      [429, "Too many requests"],
    ],
  }),
  historySvg: route({
    method: "GET",
    path: "/api/v1/counter/{resource_id}/{counter_type}/history.svg",
    fn: "GetFunction",
    auth: "read",
    tag: "counters",
    summary: "The history as a sparkline (SVG), for a README or a page",
    description:
      "The same days as the history route, drawn as a line of each day's change. Cached for 60 s (privately under READ_AUTH), as badges are. A bad parameter is a 400 JSON envelope.",
    input: (s) => ({ params: s.counter, query: s.historyQuery }),
    rate: { per: "request" },
    answer: {
      name: "Sparkline",
      mediaType: "image/svg+xml",
      example: () =>
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40" role="img" aria-label="view of article_001: +11 in 30 days">…</svg>',
    },
    errors: [
      [400, `days: must be an integer from 1 to ${MAX_HISTORY_QUERY_DAYS}`],
      [429, "Too many requests"],
    ],
  }),
  live: route({
    method: "GET",
    path: "/api/v1/counter/{resource_id}/{counter_type}/live",
    fn: LOCAL_SERVER,
    auth: "read",
    tag: "counters",
    summary: "The count as it changes: Server-Sent Events (local server only)",
    description: `Server-Sent Events: the current count, then each change, at most one per LIVE_INTERVAL_MS (default ${DEFAULT_LIVE_INTERVAL_MS}) per counter, each \`data: {"count":N}\` with an \`id:\`; a heartbeat every 15 s; a reconnect gets the current count at once. Past LIVE_MAX_CONNECTIONS or LIVE_MAX_PER_ADDRESS, a JSON 429. Local server only (API Gateway cannot stream): on AWS, AppSync Events' channel /counters/{counter_type}/{resource_id}.`,
    input: (s) => ({ params: s.counter }),
    rate: { per: "request" },
    answer: {
      name: "LiveStream",
      mediaType: "text/event-stream",
      example: () => 'id: 1765015200000\nretry: 3000\ndata: {"count":1204}\n\n',
    },
    errors: [
      [400, "counter_type: must be one of like, follow, view"],
      [429, "Too many live streams from one address: at most 20"],
    ],
  }),
  setCounter: route({
    method: "PUT",
    path: "/api/v1/admin/counter/{resource_id}/{counter_type}",
    fn: "AdminFunction",
    auth: "admin",
    tag: "admin",
    summary: "Set a total counter (and its all-time ranking score)",
    description:
      "For a count carried over from another system, or a bot's inflation undone. A unique type is a 409: its count is its set of users. Answers the counter as GET shows it.",
    input: (s) => ({ params: s.counter, body: s.setCount }),
    rate: { per: "none" },
    examples: () => ({ carried: { count: 125000 } }),
    answer: {
      name: "AdminCounterResult",
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
  }),
  resetCounter: route({
    method: "DELETE",
    path: "/api/v1/admin/counter/{resource_id}/{counter_type}",
    fn: "AdminFunction",
    auth: "admin",
    tag: "admin",
    summary: "Reset a counter of either kind to 0",
    description:
      "Its count, its set of users or its HyperLogLog, and its place in every ranking. Answers the counter as GET shows it.",
    input: (s) => ({ params: s.counter }),
    rate: { per: "none" },
    answer: {
      name: "AdminCounterResult",
      example: (t) => ({
        success: true,
        data: { resource_id: "article_001", counter_type: t.unique, count: 0 },
      }),
    },
    errors: [[400, "counter_type: must be one of like, follow, view"], ...ADMIN_AUTH_ERRORS],
  }),
  eraseUser: route({
    method: "DELETE",
    path: "/api/v1/admin/users/{user_id}",
    fn: "AdminFunction",
    auth: "admin",
    tag: "admin",
    summary: "Erase a user from every unique counter (GDPR Art. 17)",
    description:
      "Counts and rankings go down as for an unlike. Rerunnable: a run that failed half way is finished by the next. A total counter's HyperLogLog of users cannot forget one user.",
    input: (s) => ({ params: s.user }),
    rate: { per: "none" },
    answer: {
      name: "EraseResult",
      example: () => ({ success: true, data: { user_id: "user_123", removed: 3 } }),
    },
    errors: [[400, "user_id: must be 1-128 characters from A-Z a-z 0-9 _ - . : @"], ...ADMIN_AUTH_ERRORS],
  }),
};

export type RouteId = keyof typeof TABLE;
/** The input a route's handler is handed. */
export type InputOf<K extends RouteId> = ParsedInput<ReturnType<(typeof TABLE)[K]["input"]>>;

/** A route of the table with its id. */
export type TableRoute = RouteSpec & { id: RouteId };

/** Every route, in matching order (the ranking before the single read). */
export const ROUTES: readonly TableRoute[] = Object.entries(TABLE).map(([id, spec]) => ({
  ...(spec as unknown as RouteSpec),
  id: id as RouteId,
}));
/** The routes a Lambda function serves: every one but those only the local server can (streams). */
export const LAMBDA_ROUTES = ROUTES.filter(
  (r): r is TableRoute & { fn: HttpFunctionId } => r.fn !== LOCAL_SERVER,
);
export const ROUTE: Readonly<Record<RouteId, TableRoute>> = Object.fromEntries(
  ROUTES.map((r) => [r.id, r]),
) as Record<RouteId, TableRoute>;

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
export const routesMatching = (path: string): TableRoute[] =>
  MATCHERS.filter((m) => m.pattern.test(path)).map((m) => m.route);
