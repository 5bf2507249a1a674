// The guards in front of the handlers: API keys (checked once per request, in constant
// time, against every key), failed authentications counted per client address, CORS, and
// the subjects a request's rate limits count against.

import { createHash, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import type { CounterStore, RateLimit, RateLimits, RateRule } from "../domain/model.ts";

import { HttpError, ValidationError } from "./http-errors.ts";
import type { Pipeline, Platform } from "./pipeline.ts";

const sha256 = (value: string): Buffer => createHash("sha256").update(value).digest();
/** How logs and store keys name a key: the start of its digest, never the key. */
const digestName = (digest: Buffer): string => digest.toString("hex").slice(0, 32);

/** Every key is compared, every time: the time taken does not tell which one matched. */
function matches(digest: Buffer, digests: readonly Buffer[]): boolean {
  let found = false;
  for (const k of digests) found = timingSafeEqual(digest, k) || found;
  return found;
}

/** The key a request presents: `Authorization: Bearer <key>`, else `x-api-key`. */
function presentedKey(c: Context): string | undefined {
  const bearer = c.req.header("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
  return (bearer ?? c.req.header("x-api-key"))?.trim();
}

/**
 * The subject a client address is limited under: an IPv6 address by its /64 (one host has
 * all of it), an IPv4-mapped IPv6 address as its IPv4 address, and no address as `unknown`,
 * shared by every such request rather than not limited at all.
 */
export function addressSubject(address: string | undefined): string {
  if (!address) return "unknown";
  const mapped = address.match(/^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i);
  if (mapped) return mapped[1] as string;
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::")
    ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

export interface GuardDeps {
  store: CounterStore;
  apiKeys: readonly string[];
  adminKeys: readonly string[];
  readAuth: boolean;
  rateLimits: RateLimits;
  /** Failed authentications per client address before 429 (AUTH_FAILURE_LIMIT). */
  authFailureLimit: RateRule;
  platform: Platform;
  pipeline: Pipeline;
  now: () => number;
}

export interface Guards {
  /** Throws 401 (or 429 after too many failures from the address) unless the request may write. */
  requireWriteKey(c: Context): Promise<void>;
  /** The same for reads, when READ_AUTH is on. */
  requireReadKey(c: Context): Promise<void>;
  /** Whether reads need a key (READ_AUTH with keys configured): what they answer is then private. */
  readAuth: boolean;
  /** Throws 401 (429 after too many failures), or 403 for a write key, unless an admin key came; returns its digest. */
  requireAdminKey(c: Context): Promise<string>;
  /** The limits a request counts against: its address, its key and, for writes, its user. */
  limitsFor(c: Context, userId?: string): RateLimit[];
  /** A batch's limits: the address and the key once, each user by the number of its items. */
  batchLimitsFor(c: Context, userIds: readonly string[], field: string): RateLimit[];
  /** Counts a read against its limits (throws RateLimitedError past one). */
  checkLimits(c: Context): Promise<void>;
  /** Whether any RATE_LIMIT_* is set. */
  limiting: boolean;
}

export function createGuards(deps: GuardDeps): Guards {
  const keyDigests = deps.apiKeys.map(sha256);
  const adminDigests = deps.adminKeys.map(sha256);
  const rules = deps.rateLimits;
  // With keys, a request whose key was required and valid is checked against its address's
  // failed authentications (AUTH_FAILURE_LIMIT): a locked-out address gets 429 whatever the key.
  const limiting = Boolean(rules.ip || rules.key || rules.user || keyDigests.length > 0);

  /** The presented key's digest (hex) when it is a configured key, null when not, undefined when none. */
  function knownKeyDigest(c: Context): string | null | undefined {
    const cached = c.get("keyDigest");
    if (cached !== undefined) return cached === "" ? undefined : cached;
    const presented = presentedKey(c);
    let answer: string | null | undefined;
    if (presented !== undefined) {
      const digest = sha256(presented);
      answer = matches(digest, keyDigests) ? digestName(digest) : null;
    }
    c.set("keyDigest", answer === undefined ? "" : answer);
    return answer;
  }

  /** The address's failed authentications: its window, as a limit (weight 0: checked, not counted). */
  const failures = (c: Context, weight?: 0): RateLimit => ({
    subject: `auth:${addressSubject(deps.platform.clientAddress(c))}`,
    ...deps.authFailureLimit,
    ...(weight === 0 ? { weight } : {}),
  });

  /** A failure counts against the address; past the limit the answer is 429, not 401. */
  async function countFailure(c: Context): Promise<void> {
    await deps.pipeline.timed(c, deps.store.limit([failures(c)], deps.now()));
  }

  async function requireAdminKey(c: Context): Promise<string> {
    const presented = presentedKey(c);
    const digest = presented === undefined ? undefined : sha256(presented);
    if (digest && matches(digest, adminDigests)) {
      // A locked-out address gets 429 even with the right key: a guesser learns nothing.
      await deps.pipeline.timed(c, deps.store.limit([failures(c, 0)], deps.now()));
      return digestName(digest);
    }
    if (digest && matches(digest, keyDigests)) {
      throw new HttpError(403, "Authorization: this key may write counters but not administer them");
    }
    await countFailure(c);
    throw new HttpError(
      401,
      digest
        ? "Authorization: the admin key is not valid"
        : "Authorization: an admin key is required (Authorization: Bearer <key> or x-api-key)",
    );
  }

  async function requireWriteKey(c: Context): Promise<void> {
    if (keyDigests.length === 0) return;
    const known = knownKeyDigest(c);
    if (known) {
      c.set("keyRequired", true);
      return;
    }
    await countFailure(c);
    if (known === undefined) {
      throw new HttpError(
        401,
        "Authorization: an API key is required (Authorization: Bearer <key> or x-api-key)",
      );
    }
    throw new HttpError(401, "Authorization: the API key is not valid");
  }

  const readAuth = deps.readAuth && keyDigests.length > 0;
  const requireReadKey = async (c: Context) => {
    if (readAuth) await requireWriteKey(c);
  };

  const limiter = rateLimiter(deps, { limiting, keyed: keyDigests.length > 0, knownKeyDigest, failures });
  return {
    requireWriteKey,
    requireReadKey,
    readAuth,
    requireAdminKey,
    ...limiter,
    limiting,
  };
}

interface LimiterParts {
  limiting: boolean;
  /** API keys are configured. */
  keyed: boolean;
  knownKeyDigest: (c: Context) => string | null | undefined;
  failures: (c: Context, weight?: 0) => RateLimit;
}

/** The limits each request counts against, and the check of a read's. */
function rateLimiter(
  deps: GuardDeps,
  parts: LimiterParts,
): Pick<Guards, "limitsFor" | "batchLimitsFor" | "checkLimits"> {
  const rules = deps.rateLimits;
  const { limiting, keyed, knownKeyDigest, failures } = parts;
  function limitsFor(c: Context, userId?: string): RateLimit[] {
    if (!limiting) return [];
    const limits: RateLimit[] = [];
    if (rules.ip)
      limits.push({ subject: `ip:${addressSubject(deps.platform.clientAddress(c))}`, ...rules.ip });
    // Only a configured key is counted, named by its digest: made-up keys get no fresh
    // quota, and a key never appears in a store key.
    const known = rules.key && keyed ? knownKeyDigest(c) : undefined;
    if (rules.key && known) limits.push({ subject: `key:${known}`, ...rules.key });
    if (rules.user && userId) limits.push({ subject: `user:${userId}`, ...rules.user });
    if (c.get("keyRequired")) limits.push(failures(c, 0));
    return limits;
  }
  /**
   * A batch counts each item against its user's limit. A batch that holds more items for one
   * user than that limit allows in a whole window could never pass: a 400 naming the first
   * item past it, instead of a 429 whose Retry-After would never help.
   */
  function batchLimitsFor(c: Context, userIds: readonly string[], field: string): RateLimit[] {
    const limits = limitsFor(c);
    const rule = rules.user;
    if (!rule) return limits;
    const items = new Map<string, number>();
    userIds.forEach((u, index) => {
      const weight = (items.get(u) ?? 0) + 1;
      items.set(u, weight);
      if (weight > rule.limit) {
        const message = `more than RATE_LIMIT_USER allows for one user_id (${rule.limit} every ${rule.windowMs / 1000} s): split the batch`;
        const path = field ? `${field}[${index}].user_id` : "user_id";
        throw new ValidationError([{ path, message }]);
      }
    });
    for (const [u, weight] of items) limits.push({ subject: `user:${u}`, ...rule, weight });
    return limits;
  }
  const checkLimits = async (c: Context) => {
    const limits = limitsFor(c);
    if (limits.length > 0) await deps.pipeline.timed(c, deps.store.limit(limits, deps.now()));
  };
  return { limitsFor, batchLimitsFor, checkLimits };
}

/** The allowed headers of a CORS preflight, and the exposed headers of an answer. */
export const CORS_ALLOW_HEADERS = "Content-Type, Authorization, X-Api-Key, Idempotency-Key, X-Request-Id";
const CORS_EXPOSE_HEADERS =
  "Idempotent-Replayed, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-Id";

/** CORS headers for an Origin (CORS_ORIGINS); undefined when CORS is off. */
export function corsHeaders(
  origins: readonly string[],
): ((origin: string | undefined) => Record<string, string>) | undefined {
  if (origins.length === 0) return undefined;
  const anyOrigin = origins.includes("*");
  return (origin) => {
    const vary: Record<string, string> = anyOrigin ? {} : { vary: "Origin" };
    if (origin === undefined || !(anyOrigin || origins.includes(origin))) return vary;
    return {
      ...vary,
      "access-control-allow-origin": anyOrigin ? "*" : origin,
      "access-control-expose-headers": CORS_EXPOSE_HEADERS,
    };
  };
}
