// Request validation at the edge: one zod schema per request shape, with messages that name
// the field, plus the rules that depend on configuration (counter types and their kind).

import * as z from "zod/mini";
import { type CounterKind, type CounterTypes, PERIODS, type Period } from "../domain/model.ts";
import { type ErrorDetail, ValidationError } from "./http-errors.ts";
import {
  BatchBody,
  DEFAULT_RANKING_LIMIT,
  IDEMPOTENCY_KEY,
  IDENTIFIER,
  IDENTIFIER_RULE,
  IncrementBody,
  MAX_BATCH,
  MAX_RANKING_LIMIT,
} from "./schemas.ts";

const MAX_TOTAL_INCREMENT = 1_000_000;

function detailsOf(error: z.core.$ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({
    path: issue.path.length === 0 ? "body" : issue.path.map(String).join("."),
    message: issue.message,
  }));
}

function kindOf(
  types: CounterTypes,
  name: unknown,
  path: string,
  details: ErrorDetail[],
): CounterKind | undefined {
  if (typeof name !== "string") return undefined;
  const kind = types.get(name);
  if (!kind) details.push({ path, message: `must be one of ${[...types.keys()].join(", ")}` });
  return kind;
}

export interface IncrementRequest {
  resourceId: string;
  type: string;
  kind: CounterKind;
  userId: string;
  delta: number;
}

/** Validates an increment body; a ValidationError names every field that is wrong. */
export function parseIncrement(body: unknown, types: CounterTypes): IncrementRequest {
  return acceptIncrement(body, types) ?? checkIncrement(body, types);
}

/**
 * The common case, a valid body, checked by hand: the same rules as IncrementBody and
 * checkIncrement, at a fraction of the cost on every increment's path. Undefined for anything
 * else, which checkIncrement then explains. A property test holds the two to the same answers.
 */
export function acceptIncrement(body: unknown, types: CounterTypes): IncrementRequest | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const { resource_id, counter_type, user_id, increment } = body as Record<string, unknown>;
  if (typeof resource_id !== "string" || !IDENTIFIER.test(resource_id)) return undefined;
  if (typeof user_id !== "string" || !IDENTIFIER.test(user_id)) return undefined;
  const kind = typeof counter_type === "string" ? types.get(counter_type) : undefined;
  if (kind === undefined) return undefined;
  const delta = increment === undefined ? 1 : increment;
  if (typeof delta !== "number" || !Number.isSafeInteger(delta)) return undefined;
  if (kind === "unique" ? delta !== 1 && delta !== -1 : delta < 1 || delta > MAX_TOTAL_INCREMENT) {
    return undefined;
  }
  return { resourceId: resource_id, type: counter_type as string, kind, userId: user_id, delta };
}

/** The full check with the zod schema: every problem named, or the request when there is none. */
export function checkIncrement(body: unknown, types: CounterTypes): IncrementRequest {
  const parsed = z.safeParse(IncrementBody, body);
  const details = parsed.success ? [] : detailsOf(parsed.error);
  const raw = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const kind = kindOf(types, raw.counter_type, "counter_type", details);
  // The kind's range is checked whenever increment is an integer, so one answer lists every
  // problem even when another field failed the schema.
  const delta =
    raw.increment === undefined
      ? 1
      : Number.isSafeInteger(raw.increment)
        ? (raw.increment as number)
        : undefined;
  if (kind === "unique" && delta !== undefined && delta !== 1 && delta !== -1) {
    details.push({
      path: "increment",
      message: `must be 1 or -1 for the unique counter type ${raw.counter_type}`,
    });
  }
  if (kind === "total" && delta !== undefined && (delta < 1 || delta > MAX_TOTAL_INCREMENT)) {
    details.push({ path: "increment", message: `must be an integer between 1 and ${MAX_TOTAL_INCREMENT}` });
  }
  if (!parsed.success || !kind || delta === undefined || details.length > 0)
    throw new ValidationError(details);
  return {
    resourceId: parsed.data.resource_id,
    type: parsed.data.counter_type,
    kind,
    userId: parsed.data.user_id,
    delta,
  };
}

/** The items of a batch's body (`increments` or `events`), or a 400 for the body's shape. */
function batchItems(body: unknown, field: "increments" | "events"): unknown[] {
  const refuse = (path: string, message: string) => new ValidationError([{ path, message }]);
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw refuse("body", "must be a JSON object");
  const items = (body as Record<string, unknown>)[field];
  if (items === undefined) throw refuse(field, "is required");
  if (!Array.isArray(items)) throw refuse(field, "must be an array");
  if (items.length < 1 || items.length > MAX_BATCH) {
    throw refuse(field, `must hold 1 to ${MAX_BATCH} ${field}, got ${items.length}`);
  }
  return items;
}

/** Each item as a single increment, or its problems named `<field>[i].<path>` in `details`. */
function parseItems(items: unknown[], types: CounterTypes, field: string, details: ErrorDetail[]) {
  return items.map((item, i) => {
    const fast = acceptIncrement(item, types);
    if (fast) return fast;
    try {
      return checkIncrement(item, types);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      for (const d of error.details ?? []) {
        details.push({ path: `${field}[${i}]${d.path === "body" ? "" : `.${d.path}`}`, message: d.message });
      }
      return undefined;
    }
  });
}

/**
 * Validates a batch of increments: each item by the rules of a single increment. A
 * ValidationError names every bad item's fields by index (`increments[3].counter_type`).
 */
export function parseIncrements(body: unknown, types: CounterTypes): IncrementRequest[] {
  const details: ErrorDetail[] = [];
  const requests = parseItems(batchItems(body, "increments"), types, "increments", details);
  if (details.length > 0) throw new ValidationError(details);
  return requests as IncrementRequest[];
}

export interface EventRequest extends IncrementRequest {
  eventId?: string;
}

/**
 * Validates queued events: each by the rules of a single increment, plus an optional
 * `event_id` (1-128 printable ASCII); a ValidationError names every bad field by index.
 */
export function parseEvents(body: unknown, types: CounterTypes): EventRequest[] {
  const items = batchItems(body, "events");
  const details: ErrorDetail[] = [];
  const requests = parseItems(items, types, "events", details);
  const events = requests.map((request, i) => {
    const eventId = (items[i] as { event_id?: unknown } | null)?.event_id;
    if (eventId !== undefined && (typeof eventId !== "string" || !IDEMPOTENCY_KEY.test(eventId))) {
      details.push({ path: `events[${i}].event_id`, message: "must be 1-128 printable ASCII characters" });
    }
    return request && typeof eventId === "string" ? { ...request, eventId } : request;
  });
  if (details.length > 0) throw new ValidationError(details);
  return events as EventRequest[];
}

export interface CounterRef {
  resourceId: string;
  type: string;
  kind: CounterKind;
}

/** Validates a batch body; a ValidationError names every query field that is wrong. */
export function parseBatch(body: unknown, types: CounterTypes): CounterRef[] {
  return acceptBatch(body, types) ?? checkBatch(body, types);
}

/**
 * A valid batch checked by hand, as acceptIncrement does for increments: the same rules as
 * BatchBody and checkBatch, at a fraction of zod's cost for 100 queries. Undefined for
 * anything else, which checkBatch explains. A property test holds the two to the same answers.
 */
export function acceptBatch(body: unknown, types: CounterTypes): CounterRef[] | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const queries = (body as Record<string, unknown>).queries;
  if (!Array.isArray(queries) || queries.length < 1 || queries.length > MAX_BATCH) return undefined;
  const refs: CounterRef[] = [];
  for (const q of queries as unknown[]) {
    if (typeof q !== "object" || q === null || Array.isArray(q)) return undefined;
    const { resource_id, counter_type } = q as Record<string, unknown>;
    if (typeof resource_id !== "string" || !IDENTIFIER.test(resource_id)) return undefined;
    const kind = typeof counter_type === "string" ? types.get(counter_type) : undefined;
    if (kind === undefined) return undefined;
    refs.push({ resourceId: resource_id, type: counter_type as string, kind });
  }
  return refs;
}

/** The full check with the zod schema: every problem named, or the queries when there is none. */
export function checkBatch(body: unknown, types: CounterTypes): CounterRef[] {
  const parsed = z.safeParse(BatchBody, body);
  if (!parsed.success) throw new ValidationError(detailsOf(parsed.error));
  const details: ErrorDetail[] = [];
  const refs = parsed.data.queries.map((q, i) => ({
    resourceId: q.resource_id,
    type: q.counter_type,
    kind: kindOf(types, q.counter_type, `queries.${i}.counter_type`, details) ?? "total",
  }));
  if (details.length > 0) throw new ValidationError(details);
  return refs;
}

export interface ReadRequest extends CounterRef {
  userId?: string;
}

export function parseRead(
  resourceId: string,
  type: string,
  userId: string | undefined,
  types: CounterTypes,
): ReadRequest {
  const details: ErrorDetail[] = [];
  if (!IDENTIFIER.test(resourceId)) {
    details.push({ path: "resource_id", message: IDENTIFIER_RULE });
  }
  const kind = kindOf(types, type, "counter_type", details);
  if (userId !== undefined && !IDENTIFIER.test(userId)) {
    details.push({ path: "user_id", message: IDENTIFIER_RULE });
  }
  if (!kind || details.length > 0) throw new ValidationError(details);
  return userId === undefined ? { resourceId, type, kind } : { resourceId, type, kind, userId };
}

export interface RankingRequest {
  type: string;
  period: Period;
  limit: number;
}

export function parseRanking(
  type: string,
  limit: string | undefined,
  period: string | undefined,
  types: CounterTypes,
): RankingRequest {
  const details: ErrorDetail[] = [];
  kindOf(types, type, "counter_type", details);
  const parsedLimit =
    limit === undefined ? DEFAULT_RANKING_LIMIT : /^\d{1,3}$/.test(limit) ? Number(limit) : Number.NaN;
  if (!(parsedLimit >= 1 && parsedLimit <= MAX_RANKING_LIMIT)) {
    details.push({ path: "limit", message: `must be an integer from 1 to ${MAX_RANKING_LIMIT}` });
  }
  const parsedPeriod = (period ?? "day") as Period;
  if (!PERIODS.includes(parsedPeriod))
    details.push({ path: "period", message: `must be one of ${PERIODS.join(", ")}` });
  if (details.length > 0) throw new ValidationError(details);
  return { type, period: parsedPeriod, limit: parsedLimit };
}

/** Validates a user_id path parameter. */
export function parseUserId(userId: string): string {
  if (!IDENTIFIER.test(userId)) throw new ValidationError([{ path: "user_id", message: IDENTIFIER_RULE }]);
  return userId;
}

/** Validates an Idempotency-Key header value; undefined when absent. */
export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(value)) {
    throw new ValidationError([
      { path: "Idempotency-Key", message: "must be 1-128 printable ASCII characters" },
    ]);
  }
  return value;
}
