// The domain's errors: what went wrong, in the domain's words, with no HTTP in them. The
// HTTP edge alone maps each class to a status, a title and headers (shared/http/http-errors.ts).

/** A limit (per client address, API key, user_id, or failed authentications) refused the request; nothing was applied. */
export class RateLimitedError extends Error {
  override name = "RateLimitedError";
  constructor(
    readonly limit: { subject: string; limit: number; windowMs: number },
    readonly retryAfterMs: number,
  ) {
    super(`rate limit ${limit.subject.split(":")[0]} exceeded`);
  }
}

/** An Idempotency-Key was reused with a different request; nothing was applied. */
export class IdempotencyConflictError extends Error {
  override name = "IdempotencyConflictError";
  /** In a batch of increments: the item (from 0) whose earlier request differed. */
  readonly index?: number;
  constructor(index?: number) {
    super("Idempotency-Key reused with a different request");
    if (index !== undefined) this.index = index;
  }
}

/** An increment would take a total counter past the largest exact count; nothing was applied. */
export class CountLimitError extends Error {
  override name = "CountLimitError";
  /** In a batch of increments: the item (from 0) that would pass it. */
  readonly index?: number;
  constructor(
    readonly limit: number,
    index?: number,
  ) {
    super(`count would exceed ${limit}`);
    if (index !== undefined) this.index = index;
  }
}

/**
 * The store did not answer in time, is unreachable, or refused the command. `mayHaveApplied`
 * is true when a write was sent and its outcome is unknown: the client must not assume it
 * failed. `refusal` is set when the store answered with a refusal (nothing ran): "out of
 * memory", "read-only", ...
 */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  readonly mayHaveApplied: boolean;
  readonly refusal?: string;
  constructor(message: string, options: { mayHaveApplied: boolean; refusal?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.mayHaveApplied = options.mayHaveApplied;
    if (options.refusal !== undefined) this.refusal = options.refusal;
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
