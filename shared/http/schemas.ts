// The request shapes of the API, one zod schema each, validated at the edge. With the
// response shapes (responses.ts) they generate the OpenAPI document and type the client,
// so the routes, the document and the client cannot drift apart.

import * as z from "zod/mini";

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

export type IncrementInput = z.input<typeof IncrementBody>;
export type BatchQuery = z.input<typeof BatchBody>["queries"][number];
