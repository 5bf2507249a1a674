// The request pipeline every answer goes through: the request id, the standard headers, the
// one place that turns errors into the JSON envelope, and one record per request (log and
// metrics), as one Hono middleware (`lifecycle`) with the app's onError. Measured against
// the earlier hand-written wrapper per route with `BENCH_AGAINST`, alternating, 5 rounds: the
// same within noise (0.94-1.11). One part stays hand-written, for speed: answers carry a
// plain header object that @hono/node-server writes straight to the socket (`respond`),
// where c.json()/c.header() built a web Headers per answer (about a tenth of the CPU).

import { randomBytes } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import type { Hono } from "hono/tiny";
import { StoreUnavailableError } from "../domain/errors.ts";
import type { Logger } from "../domain/logger.ts";
import { answerFor, declaredTooLarge, type ErrorAnswer, envelope } from "./http-errors.ts";
import type { RequestRecord, StoreFailure } from "./observe.ts";
import { ROUTES } from "./routes.ts";

/** Runtime facts the app asks its adapter for (the local server's socket, Lambda's event): it never reads them itself. */
export interface Platform {
  /** The client's address as the platform saw it. X-Forwarded-For is not trusted: anyone can send it. */
  clientAddress(c: Context): string | undefined;
  /** The body, when the platform already holds it as text (Lambda's event); otherwise the app reads the stream. */
  bodyText?(c: Context): string | undefined;
  /** The platform's own request id (API Gateway's), when there is one. */
  requestId?(c: Context): string | undefined;
  /** Whether the client went away before the answer (the socket closed). */
  clientGone?(c: Context): boolean;
}

/** Per-request values. */
export type HighPressEnv = {
  Variables: {
    requestId: string;
    startedAt: number;
    storeMs: number;
    /** The key check's answer: a known key's digest, "" for none presented, null for a wrong one. */
    keyDigest: string | null;
    /** A key was required and valid: the address's failed-authentication window is checked too. */
    keyRequired: boolean;
    /** The route template the request is recorded under (set by its route; `unmatched` if none). */
    route: string;
    /** The CORS headers its answer carries, when CORS_ORIGINS allows its Origin. */
    cors: Record<string, string> | undefined;
    /** How the store failed it (a 503), for the record: see StoreFailure. */
    storeFailure: StoreFailure | undefined;
  };
};
export type HighPressApp = Hono<HighPressEnv>;
export type Handler = (c: Context<HighPressEnv>) => Response | Promise<Response>;

const REQUEST_ID = /^[\x21-\x7E]{1,128}$/;

// A new request id: a UUID in RFC 9562's version 8 layout (vendor-specific), 74 bits of it
// drawn at random once per process and the last 48 a counter, so ids are unique across
// processes and restarts with overwhelming odds. Not randomUUID: that cost about 1% of the
// server's CPU per request in a profile under load, for randomness an id does not need.
const ID_HEAD = (() => {
  const hex = randomBytes(10).toString("hex");
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-`;
})();
let idSequence = 0;
const newRequestId = (): string => {
  idSequence = (idSequence + 1) % 2 ** 48;
  return ID_HEAD + idSequence.toString(16).padStart(12, "0");
};

/** The route templates of writes (the admin routes' included): their 503s say whether the write may have been applied. */
const WRITE_ROUTES: ReadonlySet<string> = new Set(
  ROUTES.filter((r) => r.auth === "write" || r.auth === "admin").map((r) => r.path),
);

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

/** The headers of an answer: the API's, the request id, CORS, then `headers` (undefined drops one). */
export function answerHeaders(
  requestId: string,
  cors: Record<string, string> | undefined,
  headers?: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const all: Record<string, string> = { ...API_HEADERS, "x-request-id": requestId };
  if (cors) Object.assign(all, cors);
  if (headers) {
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) delete all[name.toLowerCase()];
      else all[name.toLowerCase()] = value;
    }
  }
  return all;
}

/** Every answer is built here, with a plain header object. */
export function respond(
  c: Context,
  body: string | Uint8Array | null,
  status = 200,
  headers?: Readonly<Record<string, string | undefined>>,
): Response {
  return new Response(body as BodyInit, {
    status,
    headers: answerHeaders(c.get("requestId"), c.get("cors"), headers),
  });
}

/** `respond` with a JSON body, ended by a newline. */
export const json = (
  c: Context,
  data: unknown,
  status = 200,
  headers?: Readonly<Record<string, string | undefined>>,
): Response => respond(c, `${JSON.stringify(data)}\n`, status, headers);

/** An error answer in the envelope. */
export const fail = (c: Context, answer: ErrorAnswer): Response =>
  json(c, envelope(answer), answer.status, answer.headers);

export interface Pipeline {
  /** Starts a request: its id (the caller's X-Request-Id, the platform's, or a new one) and CORS. */
  begin(c: Context): void;
  /** Ends a request: one record of its route template, status, latency and time on the store. */
  finish(c: Context, route: string, res: Response): void;
  /** Any error as the envelope: expected ones mapped by errors.ts, the rest a logged generic 500. */
  answerError(error: unknown, c: Context): Response;
  /** Awaits a store call, adding its time to the request's store latency. */
  timed<T>(c: Context, work: Promise<T>): Promise<T>;
}

export interface PipelineDeps {
  platform: Platform;
  logger: Logger;
  observe: (record: RequestRecord) => void;
  corsFor: ((origin: string | undefined) => Record<string, string>) | undefined;
}

function storeFailureOf(error: unknown): StoreFailure | undefined {
  if (!(error instanceof StoreUnavailableError)) return undefined;
  return error.refusal === undefined ? "unavailable" : "refused";
}

/** Status recorded for a request whose client went away before its answer (nginx's 499). */
export const CLIENT_CLOSED = 499;

export function createPipeline({ platform, logger, observe, corsFor }: PipelineDeps): Pipeline {
  const begin = (c: Context): void => {
    c.set("startedAt", performance.now());
    const given = c.req.header("x-request-id");
    c.set("requestId", given && REQUEST_ID.test(given) ? given : (platform.requestId?.(c) ?? newRequestId()));
    c.set("storeMs", 0);
    if (corsFor) c.set("cors", corsFor(c.req.header("origin")));
  };
  const finish = (c: Context, route: string, res: Response): void => {
    const failure = c.get("storeFailure") as StoreFailure | undefined;
    observe({
      request_id: c.get("requestId") as string,
      method: c.req.method,
      route,
      status: res.status,
      latency_ms: Math.round((performance.now() - (c.get("startedAt") as number)) * 1000) / 1000,
      store_ms: Math.round((c.get("storeMs") as number) * 1000) / 1000,
      ...(failure ? { store_failure: failure } : {}),
    });
  };
  const answerError = (error: unknown, c: Context): Response => {
    const answer = answerFor(error, WRITE_ROUTES.has(c.get("route")));
    if (answer) {
      if (answer.status === 503) {
        const outcome =
          answer.mayHaveApplied === undefined ? {} : { may_have_applied: answer.mayHaveApplied };
        // The route's template, not its path: a path can hold a user_id (the erasure route).
        logger.warn("store unavailable", {
          request_id: c.get("requestId"),
          route: c.get("route") ?? "unmatched",
          ...outcome,
          error,
        });
      }
      return fail(c, answer);
    }
    if (platform.clientGone?.(c)) {
      // The client dropped the request mid-body: nobody is there to answer, and it is no server error.
      logger.warn("client closed the request before it was read", {
        request_id: c.get("requestId"),
        route: c.get("route") ?? "unmatched",
      });
      return fail(c, { status: CLIENT_CLOSED, message: "The client closed the request" });
    }
    logger.error("unexpected error", {
      request_id: c.get("requestId"),
      route: c.get("route") ?? "unmatched",
      method: c.req.method,
      error,
    });
    return fail(c, { status: 500, message: "An unexpected error occurred" });
  };
  const timed = async <T>(c: Context, work: Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work;
    } catch (error) {
      // Every store call comes through here: its failure is the request's, whoever answers it.
      const failure = storeFailureOf(error);
      if (failure) c.set("storeFailure", failure);
      throw error;
    } finally {
      c.set("storeMs", (c.get("storeMs") as number) + performance.now() - started);
    }
  };
  return { begin, finish, answerError, timed };
}

/**
 * The request's life as one middleware: started before every route (a declared body over
 * `maxBodyBytes` is answered 413 there, before any route reads a byte), ended after it with
 * one record under the template its route set (errors were already answered by onError).
 * One middleware, not two: each costs a dispatch on every request.
 */
export function lifecycle(pipeline: Pipeline, maxBodyBytes: number): MiddlewareHandler<HighPressEnv> {
  return async (c, next) => {
    pipeline.begin(c);
    const oversized = declaredTooLarge(c, maxBodyBytes);
    if (oversized) c.res = pipeline.answerError(oversized, c);
    else await next();
    pipeline.finish(c, c.get("route") ?? "unmatched", c.res);
  };
}

/** A route's handler that names the template its request is recorded under. */
export const recordedAs =
  (route: string, handler: Handler): Handler =>
  (c) => {
    c.set("route", route);
    return handler(c);
  };
