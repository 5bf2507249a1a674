// A fast path made from a schema, not written by hand: for an object of plain fields (strings
// with patterns, enums, integers in a range, each maybe optional or with a default), one
// function that takes a valid value at a fraction of zod's cost and answers undefined for
// anything else (zod then explains). The mount loop uses it for params, query and headers;
// the property test over the route table holds each to its schema.

import type * as z from "zod/mini";

type Field = (value: unknown) => { ok: true; value: unknown } | undefined;

interface Def {
  type: string;
  innerType?: z.core.$ZodType;
  defaultValue?: unknown;
  entries?: Record<string, unknown>;
  format?: string;
  checks?: {
    _zod: { def: { check: string; format?: string; pattern?: RegExp; value?: number; inclusive?: boolean } };
  }[];
}

const TAKEN = (value: unknown) => ({ ok: true as const, value });

/** A string field whose checks are all patterns. */
function stringField(def: Def): Field | undefined {
  const patterns: RegExp[] = [];
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check !== "string_format" || c.format !== "regex" || !(c.pattern instanceof RegExp))
      return undefined;
    patterns.push(c.pattern);
  }
  return (value) =>
    typeof value === "string" && patterns.every((p) => p.test(value)) ? TAKEN(value) : undefined;
}

/** A safe integer field between inclusive bounds. */
function integerField(def: Def): Field | undefined {
  if (def.format !== "safeint") return undefined;
  let min = Number.MIN_SAFE_INTEGER;
  let max = Number.MAX_SAFE_INTEGER;
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.inclusive !== true || typeof c.value !== "number") return undefined;
    if (c.check === "greater_than") min = c.value;
    else if (c.check === "less_than") max = c.value;
    else return undefined;
  }
  return (value) =>
    typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max
      ? TAKEN(value)
      : undefined;
}

/** One field's fast check, or undefined when the schema is not one of the plain kinds. */
function fieldOf(schema: z.core.$ZodType): Field | undefined {
  const def = schema._zod.def as unknown as Def;
  if ((def.type === "optional" || def.type === "default") && def.innerType) {
    const inner = fieldOf(def.innerType);
    if (!inner) return undefined;
    const absent = def.type === "default" ? TAKEN(def.defaultValue) : { ok: true as const, value: undefined };
    return (value) => (value === undefined ? absent : inner(value));
  }
  if (def.type === "string") return stringField(def);
  if (def.type === "number") return integerField(def);
  if (def.type === "enum" && def.entries) {
    const members = new Set(Object.values(def.entries));
    return (value) => (members.has(value) ? TAKEN(value) : undefined);
  }
  return undefined;
}

/**
 * The fast check of an object schema of plain fields: its output for a valid value (unknown
 * keys dropped, defaults filled in, as zod's), undefined for anything else; no check at all
 * (undefined) when a field is of another kind.
 */
export function simpleCheck(
  schema: z.ZodMiniObject,
): ((value: Record<string, unknown>) => Record<string, unknown> | undefined) | undefined {
  const fields: [string, Field][] = [];
  for (const [name, field] of Object.entries(schema.shape)) {
    const check = fieldOf(field as z.core.$ZodType);
    if (!check) return undefined;
    fields.push([name, check]);
  }
  return (value) => {
    const out: Record<string, unknown> = {};
    for (const [name, check] of fields) {
      const taken = check(value[name]);
      if (!taken) return undefined;
      if (taken.value !== undefined || name in value) out[name] = taken.value;
    }
    return out;
  };
}
