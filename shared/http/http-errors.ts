// The HTTP edge's errors and the one table that maps every error, the edge's own and the
// domain's, to a status, a title, a message and headers: the spec's JSON envelope.

import type { Context } from "hono";
import {
  CountLimitError,
  IdempotencyConflictError,
  RateLimitedError,
  StoreUnavailableError,
} from "../domain/errors.ts";

export interface ErrorDetail {
  path: string;
  message: string;
}

/** An answer the edge decides itself (401, 404, 408, 413, 415, ...). */
export class HttpError extends Error {
  override name = "HttpError";
  readonly details?: ErrorDetail[];
  readonly headers?: Record<string, string>;

  constructor(
    readonly status: number,
    message: string,
    options?: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown },
  ) {
    super(message, { cause: options?.cause });
    if (options?.details) this.details = options.details;
    if (options?.headers) this.headers = options.headers;
  }
}

/** A request failed validation: 400, naming every offending field. */
export class ValidationError extends HttpError {
  override name = "ValidationError";
  constructor(details: ErrorDetail[]) {
    const first = details[0];
    const message = first ? `${first.path}: ${first.message}` : "invalid request";
    // One sentence naming every offending field; `details` says what is wrong with each.
    const others = [...new Set(details.slice(1).map((d) => d.path))].filter((p) => p !== first?.path);
    super(400, others.length > 0 ? `${message} (also invalid: ${others.join(", ")})` : message, { details });
  }
}

export const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: "Invalid request format",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** How long a client waits after a 503 before retrying, in seconds. */
export const RETRY_AFTER_SECONDS = "1";

/** What an error answers: status, message and headers, before it is put in the envelope. */
export interface ErrorAnswer {
  status: number;
  message: string;
  details?: ErrorDetail[];
  headers?: Record<string, string>;
  /** A 503 for a write: whether it may have been applied. */
  mayHaveApplied?: boolean;
}

const SUBJECTS: Record<string, string> = {
  ip: "client address",
  key: "API key",
  user: "user_id",
  auth: "client address (failed authentications)",
};

function rateLimited(error: RateLimitedError): ErrorAnswer {
  const { limit } = error;
  const kind = limit.subject.split(":")[0] ?? "client";
  const seconds = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
  const window = limit.windowMs / 1000;
  return {
    status: 429,
    message: `Too many requests for this ${SUBJECTS[kind] ?? kind}: at most ${limit.limit} every ${window} s. Retry in ${seconds} s; nothing was applied.`,
    details: [{ path: kind, message: `at most ${limit.limit} requests every ${window} s` }],
    headers: {
      "Retry-After": String(seconds),
      "RateLimit-Limit": String(limit.limit),
      "RateLimit-Remaining": "0",
      "RateLimit-Reset": String(seconds),
    },
  };
}

function storeUnavailable(error: StoreUnavailableError, write: boolean): ErrorAnswer {
  const headers = { "retry-after": RETRY_AFTER_SECONDS };
  const refused = error.refusal === undefined ? "is unavailable" : `refused it (${error.refusal})`;
  if (!write) return { status: 503, message: `The counter store ${refused}. Retry shortly.`, headers };
  const message = error.mayHaveApplied
    ? "The counter store did not confirm the write in time: it may have been applied. Retry with the same Idempotency-Key to apply it exactly once."
    : `The counter store ${refused}: the write was not applied. Retry shortly.`;
  return { status: 503, message, headers, mayHaveApplied: error.mayHaveApplied };
}

/**
 * The one table from error to answer; undefined for an error nobody expected (a 500, whose
 * message never shows internals). `write` says whether the request was a write.
 */
export function answerFor(error: unknown, write: boolean): ErrorAnswer | undefined {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
      ...(error.headers ? { headers: error.headers } : {}),
    };
  }
  if (error instanceof RateLimitedError) return rateLimited(error);
  if (error instanceof IdempotencyConflictError) {
    const item = error.index === undefined ? "" : ` for increments[${error.index}]`;
    return {
      status: 422,
      message: `Idempotency-Key: this key was already used with a different request${item} (resource_id, counter_type, user_id or increment differ)`,
      details: [{ path: "Idempotency-Key", message: `reused with a different request${item}` }],
    };
  }
  if (error instanceof CountLimitError) {
    const path = error.index === undefined ? "increment" : `increments[${error.index}].increment`;
    return {
      status: 409,
      message: `${path}: the count would exceed ${error.limit}; nothing was applied`,
      details: [{ path, message: `count would exceed ${error.limit}` }],
    };
  }
  if (error instanceof StoreUnavailableError) return storeUnavailable(error, write);
  return undefined;
}

/** The spec's error envelope. */
export function envelope(answer: ErrorAnswer): Record<string, unknown> {
  return {
    error: STATUS_TITLES[answer.status] ?? "Error",
    code: answer.status,
    message: answer.message,
    ...(answer.details ? { details: answer.details } : {}),
    ...(answer.mayHaveApplied === undefined ? {} : { may_have_applied: answer.mayHaveApplied }),
  };
}

/**
 * 413, and the connection closed after the answer: the server then does not read (and
 * throw away) the rest of a body it refused, however large its Content-Length.
 */
export const tooLarge = (max: number): HttpError =>
  new HttpError(413, `body: must be at most ${max} bytes`, { headers: { connection: "close" } });

/**
 * Every route, whether it reads a body or not: a declared body over the limit is refused
 * before a byte of it is read (`GET /health` with `Content-Length: 2000000000` is a 413).
 * The request's lifecycle (pipeline.ts) asks it first.
 */
export function declaredTooLarge(c: Context, max: number): HttpError | undefined {
  const declared = c.req.header("content-length");
  return declared !== undefined && Number(declared) > max ? tooLarge(max) : undefined;
}
