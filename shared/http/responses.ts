// The response shapes of the API, one zod schema each, named as the route table names each
// route's answer. They generate the OpenAPI document, type the client and check real answers
// in the tests; the route table refers to them by name, so the Lambda bundles, which only
// validate requests, never carry them.

import * as z from "zod/mini";
import { PERIODS } from "../domain/model.ts";

const count = z.number().check(z.int(), z.minimum(0));

export const IncrementResponse = z.object({
  success: z.literal(true),
  data: z.object({
    resource_id: z.string(),
    counter_type: z.string(),
    count,
    success: z.literal(true),
    applied: z.boolean(),
  }),
});

export const IncrementsResponse = z.object({
  success: z.literal(true),
  data: z.array(IncrementResponse.shape.data),
});

export const AcceptedResponse = z.object({
  success: z.literal(true),
  data: z.object({ accepted: count }),
});

export const CounterResponse = z.object({
  success: z.literal(true),
  data: z.object({
    resource_id: z.string(),
    counter_type: z.string(),
    count,
    unique_users: z.optional(count),
    member: z.optional(z.boolean()),
  }),
});

export const BatchResponse = z.object({
  success: z.literal(true),
  data: z.array(z.object({ resource_id: z.string(), counter_type: z.string(), count })),
});

export const EraseResponse = z.object({
  success: z.literal(true),
  data: z.object({ user_id: z.string(), removed: count }),
});

/** A badge is an SVG document, not JSON: the document describes it as a string. */
export const BadgeResponse = z.string();

export const HistoryResponse = z.object({
  success: z.literal(true),
  data: z.object({
    resource_id: z.string(),
    counter_type: z.string(),
    count,
    /** One per day asked for, oldest first, ending today (UTC). */
    days: z.array(
      z.object({
        date: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)),
        delta: z.number().check(z.int()),
      }),
    ),
  }),
});

export const HotResponse = z.object({
  success: z.literal(true),
  data: z.object({
    counter_type: z.string(),
    period: z.enum(PERIODS),
    items: z.array(z.object({ resource_id: z.string(), count })),
  }),
});

export const HealthResponse = z.object({
  status: z.enum(["ok", "degraded", "unavailable"]),
  service: z.literal("highpress"),
  version: z.string(),
  store: z.enum(["memory", "redis", "upstash"]),
  store_latency_ms: z.optional(z.number()),
  /** With status degraded: why the store refuses writes ("out of memory", "read-only", ...). */
  store_error: z.optional(z.string()),
  // A failed deep check also carries the error envelope's fields.
  error: z.optional(z.string()),
  code: z.optional(z.number()),
  message: z.optional(z.string()),
});

/** One event of a live stream: its `data:` line (the stream itself is text/event-stream, LiveStream). */
export const LiveEventData = z.object({ count });
export const LiveStream = z.string();

/** Each route's answer schema by the name the route table gives it (and the document's components). */
export const ANSWERS = {
  Health: HealthResponse,
  IncrementResult: IncrementResponse,
  IncrementsResult: IncrementsResponse,
  AcceptedResult: AcceptedResponse,
  BatchResult: BatchResponse,
  HotResult: HotResponse,
  CounterResult: CounterResponse,
  Badge: BadgeResponse,
  HistoryResult: HistoryResponse,
  Sparkline: BadgeResponse,
  LiveStream,
  AdminCounterResult: CounterResponse,
  EraseResult: EraseResponse,
} as const;
export type AnswerName = keyof typeof ANSWERS;

export const ErrorResponse = z.object({
  error: z.string(),
  code: z.number().check(z.int()),
  message: z.string(),
  details: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
  /** A 503 for a write: false when the store refused it or it was never sent, true when it was sent and not confirmed. */
  may_have_applied: z.optional(z.boolean()),
});

export type IncrementResult = z.output<typeof IncrementResponse>["data"];
export type CounterResult = z.output<typeof CounterResponse>["data"];
export type BatchResult = z.output<typeof BatchResponse>["data"];
export type HotResult = z.output<typeof HotResponse>["data"];
export type HistoryResult = z.output<typeof HistoryResponse>["data"];
export type EraseResult = z.output<typeof EraseResponse>["data"];
export type IncrementsResult = z.output<typeof IncrementsResponse>["data"];
export type AcceptedResult = z.output<typeof AcceptedResponse>["data"];
export type HealthResult = z.output<typeof HealthResponse>;
export type ErrorBody = z.output<typeof ErrorResponse>;
