// The HighPress HTTP app: the spec's routes, envelopes and status codes over a CounterStore.
// Built once per process (local server or Lambda init) from its dependencies; each Lambda
// function mounts only its own route groups.

import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { HttpError, STATUS_TITLES, StoreUnavailableError, ValidationError } from "../domain/errors.ts";
import type { CounterStore, CounterTypes, RateLimit } from "../domain/model.ts";
import type { Config, RateLimits } from "../runtime/config.ts";
import type { Logger } from "../runtime/logger.ts";
import type { RequestRecord } from "./observe.ts";
import { parseBatch, parseIdempotencyKey, parseIncrement, parseRanking, parseRead } from "./validation.ts";
import { VERSION } from "./version.ts";

export interface AppDeps {
  store: CounterStore;
  counterTypes: CounterTypes;
  /** Bodies above this many bytes answer 413 before they are parsed. */
  maxBodyBytes: number;
  /** Keys accepted on writes; empty means writes are open. */
  apiKeys: readonly string[];
  /** Reads need a key too (READ_AUTH). Default false. */
  readAuth?: boolean;
  /** Browser origins allowed by CORS (CORS_ORIGINS); `*` for any. Default none. */
  corsOrigins?: readonly string[];
  logger: Logger;
  /** The clock that picks ranking buckets and idempotency expiry; tests pass a fake one. */
  now?: () => number;
  /** Limits per client address, per API key and per user_id (writes). Default none. */
  rateLimits?: RateLimits;
  /** Told of every answered request. Default: one `request` line in the log at info. */
  observe?: (record: RequestRecord) => void;
}

/** The settings of the app that come from configuration: every entry point passes these alike. */
export type AppSettings = Pick<
  AppDeps,
  "counterTypes" | "maxBodyBytes" | "apiKeys" | "readAuth" | "corsOrigins" | "rateLimits"
>;

export function appSettings(config: Config): AppSettings {
  return {
    counterTypes: config.counterTypes,
    maxBodyBytes: config.maxBodyBytes,
    apiKeys: config.apiKeys,
    readAuth: config.readAuth,
    corsOrigins: config.corsOrigins,
    rateLimits: config.rateLimits,
  };
}

export type RouteGroup = "health" | "increment" | "read" | "ranking" | "batch";

export interface RouteInfo {
  group: RouteGroup;
  method: "GET" | "POST";
  /** OpenAPI-style template: `{name}` is one path segment. */
  path: string;
  pattern: RegExp;
}

const route = (group: RouteGroup, method: RouteInfo["method"], path: string): RouteInfo => ({
  group,
  method,
  path,
  pattern: new RegExp(`^${path.replace(/\{[a-z_]+\}/g, "[^/]+")}/?$`),
});

/** Every route of the API. Registration order matters: `hot/{type}` before `{resource_id}/{type}`. */
export const ROUTES: readonly RouteInfo[] = [
  route("health", "GET", "/health"),
  route("increment", "POST", "/api/v1/counter/increment"),
  route("batch", "POST", "/api/v1/counter/batch"),
  route("ranking", "GET", "/api/v1/counter/hot/{counter_type}"),
  route("read", "GET", "/api/v1/counter/{resource_id}/{counter_type}"),
];

const ALL_ROUTE_GROUPS: readonly RouteGroup[] = ["health", "increment", "read", "ranking", "batch"];

const REQUEST_ID = /^[\x21-\x7E]{1,128}$/;

/**
 * The headers of every answer of the JSON API: no sniffing, no framing, no caching of live
 * counts. A route that serves something else (the docs page) overrides or drops some.
 */
const API_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "strict-transport-security": "max-age=63072000; includeSubDomains",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
};

/**
 * Every answer is built here: the API's headers, the request id, CORS when configured, and
 * `headers` (a header given `undefined` is left out). The headers go as a plain object:
 * @hono/node-server writes those straight to the socket, where Hono's c.header()/c.json()
 * would build and validate a web Headers object per request, which cost about a tenth of the
 * server's CPU under load.
 */
export function respond(
  c: Context,
  body: string | Uint8Array | null,
  status = 200,
  headers?: Readonly<Record<string, string | undefined>>,
): Response {
  const all: Record<string, string> = { ...API_HEADERS, "x-request-id": c.get("requestId") };
  const cors = c.get("cors") as Record<string, string> | undefined;
  if (cors) Object.assign(all, cors);
  if (headers) {
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) delete all[name.toLowerCase()];
      else all[name.toLowerCase()] = value;
    }
  }
  return new Response(body as BodyInit, { status, headers: all });
}

/** `respond` with a JSON body. */
const json = (
  c: Context,
  data: unknown,
  status = 200,
  headers?: Readonly<Record<string, string | undefined>>,
): Response => respond(c, JSON.stringify(data), status, headers);

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const RETRY_AFTER_SECONDS = "1";

/**
 * The client's address as the platform saw it: API Gateway's sourceIp on Lambda, the
 * socket's peer locally. X-Forwarded-For is not trusted: anyone can send it.
 */
function clientAddress(c: Context): string | undefined {
  const env = c.env as
    | {
        event?: { requestContext?: { http?: { sourceIp?: string }; identity?: { sourceIp?: string } } };
        incoming?: { socket?: { remoteAddress?: string } };
      }
    | undefined;
  const context = env?.event?.requestContext;
  return context?.http?.sourceIp ?? context?.identity?.sourceIp ?? env?.incoming?.socket?.remoteAddress;
}

const tooLarge = (max: number) => new HttpError(413, `body: must be at most ${max} bytes`);

function checkedSize(text: string, max: number): string {
  if (text.length > max || Buffer.byteLength(text) > max) throw tooLarge(max);
  return text;
}

/** Reads the body as text, refusing more than `max` bytes before anything is parsed. */
async function readBody(request: Request, max: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (Number(declared) > max) throw tooLarge(max);
    // With a length the server frames the body by it, so the runtime's own text() (a fast
    // path on @hono/node-server, with no web stream) reads at most `max` bytes. The check
    // after it covers runtimes that do not enforce the header.
    return checkedSize(await request.text(), max);
  }
  if (!request.body) return "";
  // No length (chunked): count while reading and stop at the limit.
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks, size));
}

async function readJson(c: Context, max: number): Promise<unknown> {
  const type = c.req.header("content-type");
  if (type !== undefined && !JSON_TYPE.test(type)) {
    throw new HttpError(415, `Content-Type: must be application/json, got ${type.slice(0, 64)}`);
  }
  // On Lambda the body is already a string in the event: read it there, not back out of the
  // web Request's stream that Hono's adapter made of it.
  const event = (c.env as { event?: { body?: unknown; isBase64Encoded?: boolean } } | undefined)?.event;
  const text =
    typeof event?.body === "string" && !event.isBase64Encoded
      ? checkedSize(event.body, max)
      : await readBody(c.req.raw, max);
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError([{ path: "body", message: "must be valid JSON" }]);
  }
}

function sha256(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** Per-request values: the request id, time spent on the store, the key check's answer. */
type HighPressEnv = {
  Variables: {
    requestId: string;
    startedAt: number;
    storeMs: number;
    keyDigest: string | null;
    /** The request's record was made. */
    recorded: boolean;
    /** The CORS headers its answer carries, when CORS_ORIGINS allows its Origin. */
    cors: Record<string, string> | undefined;
  };
};
export type HighPressApp = Hono<HighPressEnv>;
type Handler = (c: Context<HighPressEnv>) => Response | Promise<Response>;

/** Mounts a route on an app from createApp, with its request id, headers, errors and record. */
type Mount = (
  method: "GET" | "POST" | "OPTIONS",
  path: string,
  route: string | ((c: Context) => string),
  handler: Handler,
) => void;
const mounts = new WeakMap<HighPressApp, Mount>();

/**
 * Adds a route outside the API (the docs, /metrics) that is answered like the API's own:
 * `path` in Hono's syntax, `route` the template its requests are recorded under.
 */
export function addRoute(
  app: HighPressApp,
  method: "GET" | "POST",
  path: string,
  route: string,
  handler: Handler,
): void {
  const mount = mounts.get(app);
  if (!mount) throw new Error("addRoute: the app was not made by createApp");
  mount(method, path, route, handler);
}

export function createApp(deps: AppDeps, groups: readonly RouteGroup[] = ALL_ROUTE_GROUPS): HighPressApp {
  const { store, counterTypes, maxBodyBytes, logger } = deps;
  const now = deps.now ?? Date.now;
  // Keys are compared as fixed-length digests in constant time, each one, every time.
  const keyDigests = deps.apiKeys.map(sha256);

  const app: HighPressApp = new Hono<HighPressEnv>();
  const observe = deps.observe ?? ((record: RequestRecord) => logger.info("request", record));

  // CORS (CORS_ORIGINS): answers to an allowed Origin name it and expose the API's own
  // headers. Done here rather than with hono/cors: the headers join the plain-object answer,
  // and no middleware chain is composed per request.
  const origins = deps.corsOrigins ?? [];
  const anyOrigin = origins.includes("*");
  const corsHeaders = (origin: string | undefined): Record<string, string> => {
    const vary: Record<string, string> = anyOrigin ? {} : { vary: "Origin" };
    if (origin === undefined || !(anyOrigin || origins.includes(origin))) return vary;
    return {
      ...vary,
      "access-control-allow-origin": anyOrigin ? "*" : origin,
      "access-control-expose-headers":
        "Idempotent-Replayed, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-Id",
    };
  };

  /** Starts a request, once: its id (the caller's X-Request-Id, API Gateway's, or a new one). */
  function begin(c: Context): void {
    if (c.get("requestId") !== undefined) return;
    c.set("startedAt", performance.now());
    const given = c.req.header("x-request-id");
    const event = (c.env as { event?: { requestContext?: { requestId?: string } } } | undefined)?.event;
    c.set(
      "requestId",
      given && REQUEST_ID.test(given) ? given : (event?.requestContext?.requestId ?? randomUUID()),
    );
    c.set("storeMs", 0);
    if (origins.length > 0) c.set("cors", corsHeaders(c.req.header("origin")));
  }

  /** Ends a request, once: one record of its route template, status, latency and time on the store. */
  function finish(c: Context, route: string, res: Response): void {
    if (c.get("recorded") === true) return;
    c.set("recorded", true);
    const requestId = c.get("requestId") as string;
    observe({
      request_id: requestId,
      method: c.req.method,
      route,
      status: res.status,
      latency_ms: Math.round((performance.now() - (c.get("startedAt") as number)) * 1000) / 1000,
      store_ms: Math.round((c.get("storeMs") as number) * 1000) / 1000,
    });
  }

  /** The template a request not answered by a route's handler is recorded under. */
  const routeOf = (c: Context): string => {
    const path = c.req.path;
    return ROUTES.find((r) => r.pattern.test(path))?.path ?? "unmatched";
  };

  // Each route wraps its own handler instead of sharing one middleware: with a single
  // handler per route Hono answers without composing a middleware chain per request, which
  // cost about a twentieth of the server's CPU under load.
  const mount: Mount = (method, path, route, handler) => {
    app.on(method, path, async (c) => {
      begin(c);
      let res: Response;
      try {
        res = await handler(c);
      } catch (error) {
        res = answerError(error, c);
      }
      finish(c, typeof route === "string" ? route : route(c), res);
      return res;
    });
  };
  mounts.set(app, mount);
  /** Mounts one of the API's ROUTES. */
  const mountRoute = (group: RouteGroup, handler: Handler) => {
    const info = ROUTES.find((r) => r.group === group) as RouteInfo;
    mount(info.method, info.path.replace(/\{([a-z_]+)\}/g, ":$1"), info.path, handler);
  };

  /** Awaits a store call, adding its time to the request's store latency. */
  const timed = async <T>(c: Context, work: Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work;
    } finally {
      c.set("storeMs", (c.get("storeMs") as number) + performance.now() - started);
    }
  };

  if (origins.length > 0) {
    // A preflight, for any path, is answered before routing: 204 with what may be sent.
    mount("OPTIONS", "*", routeOf, (c) =>
      respond(c, null, 204, {
        "content-type": undefined,
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers":
          "Content-Type, Authorization, X-Api-Key, Idempotency-Key, X-Request-Id",
        "access-control-max-age": "3600",
      }),
    );
  }

  const readAuth = deps.readAuth === true && keyDigests.length > 0;
  const requireReadKey = (c: Context) => {
    if (readAuth) requireWriteKey(c);
  };
  const rules = deps.rateLimits ?? {};
  const limiting = Boolean(rules.ip || rules.key || rules.user);

  /** The limits a request counts against: its address, its API key and, for writes, its user. */
  function limitsFor(c: Context, userId?: string): RateLimit[] {
    if (!limiting) return [];
    const limits: RateLimit[] = [];
    const address = rules.ip ? clientAddress(c) : undefined;
    if (rules.ip && address) limits.push({ subject: `ip:${address}`, ...rules.ip });
    // Only a configured key is counted, named by its digest: presenting made-up keys gets no
    // fresh quota, and a key never appears in a store key.
    const known = rules.key && keyDigests.length > 0 ? knownKeyDigest(c) : undefined;
    if (rules.key && known) limits.push({ subject: `key:${known}`, ...rules.key });
    if (rules.user && userId) limits.push({ subject: `user:${userId}`, ...rules.user });
    return limits;
  }
  const checkLimits = async (c: Context) => {
    const limits = limitsFor(c);
    if (limits.length > 0) await timed(c, store.limit(limits, now()));
  };

  /**
   * Checks the presented key once per request (constant time, against every configured key)
   * and remembers the answer: authorisation and the per-key rate limit both ask.
   * Returns the key's digest (hex) when it is a configured key, `null` when not, `undefined`
   * when no key was presented.
   */
  function knownKeyDigest(c: Context): string | null | undefined {
    const cached = c.get("keyDigest");
    if (cached !== undefined) return cached === "" ? undefined : cached;
    const presented = presentedKey(c);
    let answer: string | null | undefined;
    if (presented !== undefined) {
      const digest = sha256(presented);
      let known = false;
      for (const k of keyDigests) known = timingSafeEqual(digest, k) || known;
      answer = known ? digest.toString("hex").slice(0, 32) : null;
    }
    c.set("keyDigest", answer === undefined ? "" : answer);
    return answer;
  }

  function presentedKey(c: Context): string | undefined {
    const bearer = c.req.header("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
    return (bearer ?? c.req.header("x-api-key"))?.trim();
  }

  function requireWriteKey(c: Context): void {
    if (keyDigests.length === 0) return;
    const known = knownKeyDigest(c);
    if (known === undefined) {
      throw new HttpError(
        401,
        "Authorization: an API key is required (Authorization: Bearer <key> or x-api-key)",
      );
    }
    if (known === null) throw new HttpError(401, "Authorization: the API key is not valid");
  }

  if (groups.includes("health")) {
    mountRoute("health", async (c) => {
      const body: Record<string, unknown> = {
        status: "ok",
        service: "highpress",
        version: VERSION,
        store: store.name,
      };
      const deep = c.req.query("deep");
      if (deep === undefined || deep === "0" || deep === "false") return json(c, body);
      const started = performance.now();
      try {
        await timed(c, store.ping());
      } catch (error) {
        logger.warn("deep health check failed", { error });
        return json(
          c,
          {
            ...body,
            status: "unavailable",
            error: STATUS_TITLES[503],
            code: 503,
            message: "The counter store is unreachable",
          },
          503,
          { "retry-after": RETRY_AFTER_SECONDS },
        );
      }
      body.store_latency_ms = Math.round((performance.now() - started) * 100) / 100;
      return json(c, body);
    });
  }

  if (groups.includes("increment")) {
    mountRoute("increment", async (c) => {
      requireWriteKey(c);
      const idempotencyKey = parseIdempotencyKey(c.req.header("idempotency-key"));
      const request = parseIncrement(await readJson(c, maxBodyBytes), counterTypes);
      const outcome = await timed(
        c,
        store.increment({
          ...request,
          now: now(),
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
          ...(limiting ? { limits: limitsFor(c, request.userId) } : {}),
        }),
      );
      return json(
        c,
        {
          success: true,
          data: {
            resource_id: request.resourceId,
            counter_type: request.type,
            count: outcome.count,
            success: true,
            applied: outcome.applied,
          },
        },
        200,
        outcome.replayed ? { "idempotent-replayed": "true" } : undefined,
      );
    });
  }

  if (groups.includes("batch")) {
    mountRoute("batch", async (c) => {
      requireReadKey(c);
      const refs = parseBatch(await readJson(c, maxBodyBytes), counterTypes);
      if (limiting) await checkLimits(c);
      const readings = await timed(c, store.read(refs));
      return json(c, {
        success: true,
        data: refs.map((ref, i) => ({
          resource_id: ref.resourceId,
          counter_type: ref.type,
          count: readings[i]?.count ?? 0,
        })),
      });
    });
  }

  if (groups.includes("ranking")) {
    mountRoute("ranking", async (c) => {
      requireReadKey(c);
      const query = parseRanking(
        c.req.param("counter_type") ?? "",
        c.req.query("limit"),
        c.req.query("period"),
        counterTypes,
      );
      if (limiting) await checkLimits(c);
      const items = await timed(c, store.ranking({ ...query, now: now() }));
      return json(c, {
        success: true,
        data: {
          counter_type: query.type,
          period: query.period,
          items: items.map((item) => ({ resource_id: item.resourceId, count: item.count })),
        },
      });
    });
  }

  if (groups.includes("read")) {
    mountRoute("read", async (c) => {
      requireReadKey(c);
      const request = parseRead(
        c.req.param("resource_id") ?? "",
        c.req.param("counter_type") ?? "",
        c.req.query("user_id"),
        counterTypes,
      );
      if (limiting) await checkLimits(c);
      const [reading] = await timed(c, store.read([{ ...request, detail: true }]));
      const data: Record<string, unknown> = {
        resource_id: request.resourceId,
        counter_type: request.type,
        count: reading?.count ?? 0,
      };
      if (reading?.uniqueUsers !== undefined) data.unique_users = reading.uniqueUsers;
      if (reading?.member !== undefined) data.member = reading.member;
      return json(c, { success: true, data });
    });
  }

  const fail = (
    c: Context,
    status: number,
    message: string,
    extra?: { details?: unknown },
    headers?: Readonly<Record<string, string>>,
  ) => json(c, { error: STATUS_TITLES[status] ?? "Error", code: status, message, ...extra }, status, headers);

  // 405 is decided over every route of the API, not only those this app mounts: behind API
  // Gateway the catch-all route brings one function the requests no other route matched.
  app.notFound((c) => {
    begin(c);
    const path = c.req.path;
    const allowed = [...new Set(ROUTES.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0 && !allowed.includes(c.req.method as RouteInfo["method"])) {
      const res = fail(
        c,
        405,
        `${c.req.method} is not allowed on ${path.slice(0, 200)}; use ${allowed.join(" or ")}`,
        undefined,
        { allow: allowed.includes("GET") ? [...allowed, "HEAD"].join(", ") : allowed.join(", ") },
      );
      finish(c, routeOf(c), res);
      return res;
    }
    const res = fail(c, 404, `No route for ${c.req.method} ${path.slice(0, 200)}`);
    finish(c, "unmatched", res);
    return res;
  });

  /** Any error as the one JSON envelope; store outages as a fast 503. */
  function answerError(error: unknown, c: Context): Response {
    if (error instanceof HttpError) {
      return fail(
        c,
        error.status,
        error.message,
        error.details ? { details: error.details } : {},
        error.headers,
      );
    }
    if (error instanceof StoreUnavailableError) {
      logger.warn("store unavailable", { request_id: c.get("requestId"), path: c.req.path, error });
      const message = error.mayHaveApplied
        ? "The counter store did not confirm the write in time: it may or may not have been applied. Retry with the same Idempotency-Key to apply it exactly once."
        : c.req.method === "POST" && c.req.path.endsWith("/increment")
          ? "The counter store is unavailable: nothing was applied. Retry shortly."
          : "The counter store is unavailable. Retry shortly.";
      return fail(c, 503, message, undefined, { "retry-after": RETRY_AFTER_SECONDS });
    }
    logger.error("unexpected error", {
      request_id: c.get("requestId"),
      path: c.req.path,
      method: c.req.method,
      error,
    });
    return fail(c, 500, "An unexpected error occurred");
  }
  // Errors outside a route's handler (none expected; a middleware's) get the same envelope.
  app.onError((error, c) => {
    begin(c);
    const res = answerError(error, c);
    finish(c, routeOf(c), res);
    return res;
  });

  return app;
}
