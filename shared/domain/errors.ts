// The error family of HighPress: each class maps to one HTTP status and one fixed title,
// and the app turns them into the spec's JSON envelope in a single onError.

export interface ErrorDetail {
  path: string;
  message: string;
}

export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  readonly details?: ErrorDetail[];
  readonly headers?: Record<string, string>;

  constructor(
    status: number,
    message: string,
    options?: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown },
  ) {
    super(message, { cause: options?.cause });
    this.status = status;
    if (options?.details) this.details = options.details;
    if (options?.headers) this.headers = options.headers;
  }
}

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

export class IdempotencyConflictError extends HttpError {
  override name = "IdempotencyConflictError";
  constructor() {
    super(
      422,
      "Idempotency-Key: this key was already used with a different request (resource_id, counter_type, user_id or increment differ)",
      { details: [{ path: "Idempotency-Key", message: "reused with a different request" }] },
    );
  }
}

const SUBJECTS: Record<string, string> = { ip: "client address", key: "API key", user: "user_id" };

/** A rate limit refused the request; nothing was applied. */
export class RateLimitedError extends HttpError {
  override name = "RateLimitedError";
  constructor(limit: { subject: string; limit: number; windowMs: number }, retryAfterMs: number) {
    const kind = limit.subject.split(":")[0] ?? "client";
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    const what = SUBJECTS[kind] ?? kind;
    super(
      429,
      `Too many requests for this ${what}: at most ${limit.limit} every ${limit.windowMs / 1000} s. Retry in ${seconds} s; nothing was applied.`,
      {
        details: [
          { path: kind, message: `at most ${limit.limit} requests every ${limit.windowMs / 1000} s` },
        ],
        headers: {
          "Retry-After": String(seconds),
          "RateLimit-Limit": String(limit.limit),
          "RateLimit-Remaining": "0",
          "RateLimit-Reset": String(seconds),
        },
      },
    );
  }
}

/**
 * The store did not answer in time or is unreachable. `mayHaveApplied` is true when a write
 * was sent and its outcome is unknown: the client must not assume it failed.
 */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  readonly mayHaveApplied: boolean;
  constructor(message: string, options: { mayHaveApplied: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.mayHaveApplied = options.mayHaveApplied;
  }
}

/** A setting is missing or malformed: start-up stops with this message. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Each problem on its own, `VARIABLE: what is wrong` (the CDK app names its context keys from them). */
  readonly problems: readonly string[];
  constructor(message: string, options?: { problems?: readonly string[]; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.problems = options?.problems ?? [message];
  }
}

export const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: "Invalid request format",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};
