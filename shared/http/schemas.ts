// The request shapes of the API, one zod schema each. The route table (routes.ts) names them;
// the mount loop (execute.ts) runs them on every request and the OpenAPI document is made
// from them, so what the document declares is what runs. Rules that depend on configuration
// (the counter types and their kind) are built in: `requestSchemas(types)` makes the set for
// one configuration, once per app, each schema when first asked for (a function asks only for
// its own routes').

import * as z from "zod/mini";
import { DEFAULT_HISTORY_QUERY_DAYS, MAX_HISTORY_QUERY_DAYS } from "../domain/history.ts";
import type { CounterKind, CounterTypes } from "../domain/model.ts";
import { MAX_EXACT_COUNT, PERIODS } from "../domain/model.ts";

export const IDENTIFIER = /^[A-Za-z0-9_.:@-]{1,128}$/;
export const MAX_BATCH = 100;
export const IDENTIFIER_RULE = "must be 1-128 characters from A-Z a-z 0-9 _ - . : @";
/** Idempotency-Key and event_id: 1-128 printable ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x20-\x7E]{1,128}$/;
const PRINTABLE_RULE = "must be 1-128 printable ASCII characters";
/**
 * A client's event_id: printable ASCII, and not one of the service's own ids (`auto:<uuid>`
 * without a key, `idem:<key>#<index>` with one), which it could otherwise collide with.
 */
export const EVENT_ID = /^(?!auto:|idem:)[\x20-\x7E]{1,128}$/;
const EVENT_ID_RULE =
  "must be 1-128 printable ASCII characters, not starting with auto: or idem: (the service's own ids)";
export const MAX_RANKING_LIMIT = 100;
export const DEFAULT_RANKING_LIMIT = 10;
/** The most a single increment may add to a total counter. */
export const MAX_TOTAL_INCREMENT = 1_000_000;
/** What `/health?deep=` takes. */
export const HEALTH_DEEP = ["1", "true", "0", "false"] as const;

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
/** What `color` may be: a palette name or hex digits. */
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

const required = (expected: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? "is required" : `must be ${expected}`;

export const identifier = z
  .string({ error: required("a string") })
  .check(z.regex(IDENTIFIER, IDENTIFIER_RULE));
const printable = z.string({ error: required("a string") }).check(z.regex(IDEMPOTENCY_KEY, PRINTABLE_RULE));
const rangeRule = (min: number, max: number) => `must be an integer from ${min} to ${max}`;
/** An integer in a range, one message for every way to miss it. */
const intIn = (min: number, max: number, error = rangeRule(min, max)) =>
  z.int({ error }).check(z.minimum(min, error), z.maximum(max, error));

/**
 * What the document adds to a schema's JSON Schema, beside the zod schema it describes: the
 * rules zod runs as a refinement (the increment's range by counter kind). openapi.ts merges
 * them; the schema-driven test holds the two to one answer.
 */
export const DOCUMENTED: WeakMap<z.core.$ZodType, Record<string, unknown>> = new WeakMap();

/** The configured counter types split by kind, in configuration order. */
export function typeNames(types: CounterTypes): { all: string[]; unique: string[]; total: string[] } {
  const of = (kind: CounterKind) => [...types].filter(([, k]) => k === kind).map(([name]) => name);
  return { all: [...types.keys()], unique: of("unique"), total: of("total") };
}

/** The increment a unique type takes, and the range a total type takes, as one sentence each. */
const uniqueRule = (type: string) => `must be 1 or -1 for the unique counter type ${type}`;
const TOTAL_RULE = `must be an integer between 1 and ${MAX_TOTAL_INCREMENT}`;

/** Whether `delta` is an increment `kind` takes. */
export const takesIncrement = (kind: CounterKind, delta: number): boolean =>
  kind === "unique" ? delta === 1 || delta === -1 : delta >= 1 && delta <= MAX_TOTAL_INCREMENT;

/** The increment's rule by kind, as the document states it. */
function documentedIncrementRule(types: CounterTypes): Record<string, unknown> {
  const { unique, total } = typeNames(types);
  const when = (names: string[], increment: Record<string, unknown>) => ({
    if: { properties: { counter_type: { enum: names } }, required: ["counter_type"] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited.
    then: { properties: { increment } },
  });
  return {
    allOf: [when(unique, { enum: [1, -1] }), when(total, { minimum: 1, maximum: MAX_TOTAL_INCREMENT })],
  };
}

/** The increment's rule by kind, as zod runs it: one issue on `increment` when its kind refuses it. */
function incrementRule(types: CounterTypes) {
  return z.check<{ counter_type?: unknown; increment?: unknown }>(
    (payload) => {
      const { counter_type: type, increment } = payload.value;
      const kind = typeof type === "string" ? types.get(type) : undefined;
      const delta = increment === undefined ? 1 : increment;
      if (!kind || !Number.isSafeInteger(delta) || takesIncrement(kind, delta as number)) return;
      const message = kind === "unique" ? uniqueRule(type as string) : TOTAL_RULE;
      payload.issues.push({ code: "custom", input: increment, path: ["increment"], message });
    },
    // Run even when another field failed, so that one answer names every problem.
    { when: (payload) => typeof payload.value === "object" && payload.value !== null },
  );
}

/** One increment (a single one, a batch item, an event with its event_id). */
function incrementItem<E extends z.core.$ZodLooseShape = Record<never, never>>(
  types: CounterTypes,
  counterType: z.ZodMiniType<string>,
  extra: E = {} as E,
) {
  const item = z
    .object(
      {
        resource_id: identifier,
        counter_type: counterType,
        user_id: identifier,
        increment: z._default(z.int({ error: "must be an integer" }), 1),
        ...extra,
      },
      { error: "must be a JSON object" },
    )
    .check(incrementRule(types));
  DOCUMENTED.set(item, documentedIncrementRule(types));
  return item;
}

/** A list of 1 to MAX_BATCH items, its size rule in one sentence. */
const batchOf = <T extends z.ZodMiniType>(item: T, noun: string) => {
  const rule = `must hold 1 to ${MAX_BATCH} ${noun}`;
  return z
    .array(item, { error: required("an array") })
    .check(z.minLength(1, rule), z.maxLength(MAX_BATCH, rule));
};
const bodyObject = <S extends z.core.$ZodLooseShape>(shape: S) =>
  z.object(shape, { error: "must be a JSON object" });

const BADGE_LABEL_RULE = `must be 1-${BADGE_LABEL_MAX} characters, no control, bidirectional-control or non-XML characters`;
const BADGE_COLOR_RULE = `must be one of ${[...BADGE_COLORS.keys()].join(", ")}, or 3 or 6 hex digits`;

/** A value made on first use, then kept. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

/**
 * An object whose every property is made by its maker on first read, then kept: a function
 * builds the schemas of its own routes only (a cold start built all 14 before), the OpenAPI
 * document all of them.
 */
function lazily<M extends Record<string, () => unknown>>(
  makers: M,
): { readonly [K in keyof M]: ReturnType<M[K]> } {
  const made = {} as { [K in keyof M]: ReturnType<M[K]> };
  for (const name of Object.keys(makers) as (keyof M)[]) {
    const make = once(makers[name] as () => ReturnType<M[typeof name]>);
    Object.defineProperty(made, name, { enumerable: true, get: make });
  }
  return made;
}

/** Every request shape for one configuration of counter types, each made when first asked for. */
export function requestSchemas(types: CounterTypes) {
  const counterType = once(() => {
    const { all } = typeNames(types);
    const oneOf = `must be one of ${all.join(", ")}`;
    return z.enum(all as [string, ...string[]], {
      error: (issue) => (issue.input === undefined ? "is required" : oneOf),
    });
  });
  const increment = once(() => incrementItem(types, counterType()));
  const counter = once(() => z.object({ resource_id: identifier, counter_type: counterType() }));
  return lazily({
    counter,
    increment,
    increments: () => bodyObject({ increments: batchOf(increment(), "increments") }),
    events: () =>
      bodyObject({
        events: batchOf(
          incrementItem(types, counterType(), {
            event_id: z.optional(
              z.string({ error: required("a string") }).check(z.regex(EVENT_ID, EVENT_ID_RULE)),
            ),
          }),
          "events",
        ),
      }),
    batch: () =>
      bodyObject({
        queries: batchOf(z.object(counter().shape, { error: "must be a JSON object" }), "queries"),
      }),
    setCount: () =>
      bodyObject({
        count: z
          .number({ error: required("an integer") })
          .check(
            z.int({ error: "must be an integer" }),
            z.minimum(0, rangeRule(0, MAX_EXACT_COUNT)),
            z.maximum(MAX_EXACT_COUNT, rangeRule(0, MAX_EXACT_COUNT)),
          ),
      }),
    idempotency: () => z.object({ "Idempotency-Key": z.optional(printable) }),
    user: () => z.object({ user_id: identifier }),
    readQuery: () => z.object({ user_id: z.optional(identifier) }),
    healthQuery: () =>
      z.object({
        deep: z.optional(z.enum(HEALTH_DEEP, { error: `must be one of ${HEALTH_DEEP.join(", ")}` })),
      }),
    rankingParams: () => z.object({ counter_type: counterType() }),
    rankingQuery: () =>
      z.object({
        limit: z._default(intIn(1, MAX_RANKING_LIMIT), DEFAULT_RANKING_LIMIT),
        period: z._default(z.enum(PERIODS, { error: `must be one of ${PERIODS.join(", ")}` }), "day"),
      }),
    badgeQuery: () =>
      z.object({
        label: z.optional(z.string().check(z.regex(BADGE_LABEL, BADGE_LABEL_RULE))),
        color: z._default(z.string().check(z.regex(BADGE_COLOR, BADGE_COLOR_RULE)), "blue"),
      }),
    historyQuery: () =>
      z.object({
        days: z._default(intIn(1, MAX_HISTORY_QUERY_DAYS), DEFAULT_HISTORY_QUERY_DAYS),
      }),
  });
}

export type RequestSchemas = ReturnType<typeof requestSchemas>;

export type IncrementInput = z.input<RequestSchemas["increment"]>;
export type EventInput = z.input<RequestSchemas["events"]>["events"][number];
export type BatchQuery = z.input<RequestSchemas["batch"]>["queries"][number];
