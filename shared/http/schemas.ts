// The request shapes of the API, one zod schema each, validated at the edge. With the
// response shapes (responses.ts) they generate the OpenAPI document and type the client,
// so the routes, the document and the client cannot drift apart.

import * as z from "zod/mini";
import { MAX_EXACT_COUNT } from "../domain/model.ts";

export const IDENTIFIER = /^[A-Za-z0-9_.:@-]{1,128}$/;
export const MAX_BATCH = 100;
export const IDENTIFIER_RULE = "must be 1-128 characters from A-Z a-z 0-9 _ - . : @";
/** Idempotency-Key: 1-128 printable ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x20-\x7E]{1,128}$/;
export const MAX_RANKING_LIMIT = 100;
export const DEFAULT_RANKING_LIMIT = 10;

const required = (expected: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? "is required" : `must be ${expected}`;

const identifier = z.string({ error: required("a string") }).check(z.regex(IDENTIFIER, IDENTIFIER_RULE));
const counterType = z.string({ error: required("a string") });

export const IncrementBody = z.object(
  {
    resource_id: identifier,
    counter_type: counterType,
    user_id: identifier,
    increment: z.optional(
      z.number({ error: "must be an integer" }).check(z.int({ error: "must be an integer" })),
    ),
  },
  { error: "must be a JSON object" },
);

export const BatchBody = z.object(
  {
    queries: z
      .array(
        z.object({ resource_id: identifier, counter_type: counterType }, { error: "must be an object" }),
        {
          error: required("an array"),
        },
      )
      .check(
        z.minLength(1, "must hold at least 1 query"),
        z.maxLength(MAX_BATCH, `must hold at most ${MAX_BATCH} queries`),
      ),
  },
  { error: "must be a JSON object" },
);

const MAX_COUNT = MAX_EXACT_COUNT;

export const SetCountBody = z.object(
  {
    count: z
      .number({ error: required("an integer") })
      .check(
        z.int({ error: "must be an integer" }),
        z.minimum(0, `must be an integer from 0 to ${MAX_COUNT}`),
        z.maximum(MAX_COUNT, `must be an integer from 0 to ${MAX_COUNT}`),
      ),
  },
  { error: "must be a JSON object" },
);

/**
 * Badge colours by name (shields.io's palette); `color` may also be 3 or 6 hex digits. A Map,
 * not an object: `?color=constructor` must find nothing, not Object's constructor.
 */
export const BADGE_COLORS: ReadonlyMap<string, string> = new Map([
  ["brightgreen", "#4c1"],
  ["green", "#97ca00"],
  ["yellowgreen", "#a4a61d"],
  ["yellow", "#dfb317"],
  ["orange", "#fe7d37"],
  ["red", "#e05d44"],
  ["blue", "#007ec6"],
  ["grey", "#555"],
  ["lightgrey", "#9f9f9f"],
]);
export const BADGE_LABEL_MAX = 32;
/** What `color` may be: a palette name or hex digits (the route's schema and the check share it). */
export const BADGE_COLOR = new RegExp(
  `^(${[...BADGE_COLORS.keys()].join("|")}|[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`,
);
/**
 * What a label may not hold: what XML 1.0 cannot carry (C0 controls, lone surrogates, U+FFFE,
 * U+FFFF), C1 controls, DEL, and the bidirectional controls that could reorder what is shown
 * (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069).
 */
export const BADGE_LABEL_FORBIDDEN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff]|\p{Cs}/u;
/** The label's rule, as the document states it. */
export const BADGE_LABEL = new RegExp(
  `^(?:(?!${BADGE_LABEL_FORBIDDEN.source})[\\s\\S]){1,${BADGE_LABEL_MAX}}$`,
  "u",
);

export const IncrementsBody = z.object(
  {
    increments: z
      .array(IncrementBody, { error: required("an array") })
      .check(
        z.minLength(1, "must hold at least 1 increment"),
        z.maxLength(MAX_BATCH, `must hold at most ${MAX_BATCH} increments`),
      ),
  },
  { error: "must be a JSON object" },
);

export const EventsBody = z.object(
  {
    events: z
      .array(
        z.object({
          ...IncrementBody.shape,
          event_id: z.optional(
            z.string().check(z.regex(IDEMPOTENCY_KEY, "must be 1-128 printable ASCII characters")),
          ),
        }),
        { error: required("an array") },
      )
      .check(
        z.minLength(1, "must hold at least 1 event"),
        z.maxLength(MAX_BATCH, `must hold at most ${MAX_BATCH} events`),
      ),
  },
  { error: "must be a JSON object" },
);

export type IncrementInput = z.input<typeof IncrementBody>;
export type EventInput = z.input<typeof EventsBody>["events"][number];
export type BatchQuery = z.input<typeof BatchBody>["queries"][number];
