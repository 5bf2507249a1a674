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
