// The HighPress HTTP app, composed: the pipeline (pipeline.ts), the guards (guards.ts) and
// one handler per route of the table (routes.ts, handlers/), each executed as its entry
// declares (execute.ts). Built once per process (local server or Lambda init); a Lambda
// function mounts only the routes the table gives it, from only its own handler modules
// (functions/*.ts); the whole app with every handler is app.ts.

import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { encodeEvents } from "../domain/events.ts";
import type { HttpFunctionId } from "../domain/functions.ts";
import type { Logger } from "../domain/logger.ts";
import type {
  CounterStore,
  CounterTypes,
  EventQueue,
  LocalEventQueue,
  RateLimits,
  RateRule,
} from "../domain/model.ts";
import { executed, type RouteHandler, type RouteHandlers } from "./execute.ts";
import { CORS_ALLOW_HEADERS, corsHeaders, createGuards, type Guards } from "./guards.ts";
import type { HandlerDeps } from "./handlers/context.ts";
import type { LiveStreams } from "./live-streams.ts";
import type { RequestRecord } from "./observe.ts";
import {
  createPipeline,
  fail,
  type Handler,
  type HighPressApp,
  type HighPressEnv,
  lifecycle,
  type Pipeline,
  type Platform,
  recordedAs,
  respond,
} from "./pipeline.ts";
import { honoPath, ROUTES, type RouteId, routesMatching, type TableRoute } from "./routes.ts";
import { requestSchemas } from "./schemas.ts";

export type { HighPressApp, Platform } from "./pipeline.ts";
export { respond } from "./pipeline.ts";

export interface AppDeps {
  store: CounterStore;
  counterTypes: CounterTypes;
  /** Bodies above this many bytes answer 413 before they are parsed. */
  maxBodyBytes: number;
  /** Keys accepted on writes; empty means writes are open. */
  apiKeys: readonly string[];
  /** Where POST /events queues events: SQS on AWS, the local event queue on the local server (sendingTo). */
  eventQueue: EventQueue;
  /** Keys accepted on the admin routes (ADMIN_KEYS); empty or absent: those routes do not exist. */
  adminKeys?: readonly string[];
  /** Reads need a key too (READ_AUTH). Default false. */
  readAuth?: boolean;
  /** Browser origins allowed by CORS (CORS_ORIGINS); `*` for any. Default none. */
  corsOrigins?: readonly string[];
  logger: Logger;
  /** The clock that picks ranking buckets and idempotency expiry; tests pass a fake one. */
  now?: () => number;
  /** Limits per client address, per API key and per user_id (writes). Default none. */
  rateLimits?: RateLimits;
  /** Failed authentications per client address before 429. Default 20 a minute. */
  authFailureLimit?: RateRule;
  /** Told of every answered request. Default: one `request` line in the log at info. */
  observe?: (record: RequestRecord) => void;
  /** Runtime facts from the adapter. Default: none known (tests through app.request()). */
  platform?: Platform;
  /** The live streams (the local server's, which ends them when it drains). Default: made over the store's changes. */
  live?: LiveStreams;
}

/** The settings of the app that come from configuration: every entry point passes these alike. */
export type AppSettings = Pick<
  AppDeps,
  | "counterTypes"
  | "maxBodyBytes"
  | "apiKeys"
  | "adminKeys"
  | "readAuth"
  | "corsOrigins"
  | "rateLimits"
  | "authFailureLimit"
>;

const NO_PLATFORM: Platform = { clientAddress: () => undefined };

/** Sending to a local event queue, one message per POST: what the local server consumes. */
export const sendingTo = (queue: LocalEventQueue, now: () => number = Date.now): EventQueue => ({
  send: (events) => queue.push(encodeEvents(events, now())),
});
const DEFAULT_AUTH_FAILURE_LIMIT: RateRule = { limit: 20, windowMs: 60_000 };

/** What createApp made for an app, so that addRoute can guard more routes like the API's own. */
const parts = new WeakMap<HighPressApp, { guards: Guards }>();

/**
 * Adds a route outside the API (the docs, /metrics) that is answered like the API's own:
 * `path` in Hono's syntax, `route` the template its requests are recorded under; `auth:
 * "read"` puts it behind READ_AUTH.
 */
export function addRoute(
  app: HighPressApp,
  path: string,
  route: string,
  handler: Handler,
  options: { auth?: "none" | "read" } = {},
): void {
  const made = parts.get(app);
  if (!made) throw new Error("addRoute: the app was not made by createApp");
  const guarded: Handler =
    options.auth === "read"
      ? async (c) => {
          await made.guards.requireReadKey(c);
          return handler(c);
        }
      : handler;
  app.get(path, recordedAs(route, guarded));
}

/** The template a request no handler took is recorded under: the route it matches, or `unmatched`. */
const routeOf = (c: Context): string => routesMatching(c.req.path)[0]?.path ?? "unmatched";

/**
 * 404 and 405, decided over every route of the table, not only those this app mounts:
 * behind API Gateway the catch-all brings one function what no other route matched,
 * including another function's route with a trailing slash, which it does not serve.
 */
function answerUnmatched(app: HighPressApp, pipeline: Pipeline, served: readonly TableRoute[]): void {
  app.notFound((c) => {
    const path = c.req.path;
    const matching = routesMatching(path).filter((r) => served.includes(r));
    const methods = [...new Set(matching.map((r) => r.method as string))];
    const shown = path.slice(0, 200);
    if (methods.length === 0 || methods.includes(c.req.method)) {
      return fail(c, { status: 404, message: `No route for ${c.req.method} ${shown}` });
    }
    c.set("route", routeOf(c));
    return fail(c, {
      status: 405,
      message: `${c.req.method} is not allowed on ${shown}; use ${methods.join(" or ")}`,
      headers: { allow: (methods.includes("GET") ? [...methods, "HEAD"] : methods).join(", ") },
    });
  });
  // Any error a handler throws: the one envelope (lifecycle then records it).
  app.onError((error, c) => pipeline.answerError(error, c));
}

/** A CORS preflight, for any path, is answered before routing: 204 with what may be sent. */
function answerPreflights(app: HighPressApp): void {
  app.options("*", (c) => {
    c.set("route", routeOf(c));
    return respond(c, null, 204, {
      "content-type": undefined,
      "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
      "access-control-allow-headers": CORS_ALLOW_HEADERS,
      "access-control-max-age": "3600",
    });
  });
}

/** What makes the handlers of some routes, from what every handler is built from. */
export type HandlerFactory = (d: HandlerDeps) => Partial<RouteHandlers>;

/**
 * The app, from the handler modules it is given; with `fn`, only the routes the table gives
 * that Lambda function, whose entry passes just its own modules (so its bundle carries no
 * other route's handler). A mounted route without a handler fails here, at start.
 */
export function composeApp(
  deps: AppDeps,
  factories: readonly HandlerFactory[],
  fn?: HttpFunctionId,
): HighPressApp {
  const now = deps.now ?? Date.now;
  const platform = deps.platform ?? NO_PLATFORM;
  const corsFor = corsHeaders(deps.corsOrigins ?? []);
  const observe = deps.observe ?? ((record: RequestRecord) => deps.logger.info("request", record));
  const pipeline = createPipeline({ platform, logger: deps.logger, observe, corsFor });
  const guards = createGuards({
    store: deps.store,
    apiKeys: deps.apiKeys,
    adminKeys: deps.adminKeys ?? [],
    readAuth: deps.readAuth === true,
    rateLimits: deps.rateLimits ?? {},
    authFailureLimit: deps.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT,
    platform,
    pipeline,
    now,
  });
  const handlerDeps: HandlerDeps = {
    ...deps,
    now,
    pipeline,
    readAuth: guards.readAuth,
    clientAddress: platform.clientAddress,
  };
  const handlers: Partial<RouteHandlers> = Object.assign({}, ...factories.map((make) => make(handlerDeps)));
  const app: HighPressApp = new Hono<HighPressEnv>();
  parts.set(app, { guards });
  app.use(lifecycle(pipeline, deps.maxBodyBytes));
  if (corsFor) answerPreflights(app);
  // Without ADMIN_KEYS the admin routes do not exist: not mounted, and 404 (never 405) for them.
  const served = (deps.adminKeys ?? []).length > 0 ? ROUTES : ROUTES.filter((r) => r.auth !== "admin");
  const mounted: readonly TableRoute[] = fn ? served.filter((r) => r.fn === fn) : served;
  const execute = {
    schemas: requestSchemas(deps.counterTypes),
    counterTypes: deps.counterTypes,
    guards,
    maxBodyBytes: deps.maxBodyBytes,
    platform,
  };
  for (const route of mounted) {
    const handler = handlers[route.id] as RouteHandler<RouteId> | undefined;
    if (!handler) throw new Error(`no handler for route ${route.id} (${route.method} ${route.path})`);
    app.on(route.method, honoPath(route.path), recordedAs(route.path, executed(route, handler, execute)));
  }
  answerUnmatched(app, pipeline, served);
  return app;
}
