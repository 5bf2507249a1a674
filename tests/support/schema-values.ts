// Values for a JSON Schema, valid and not: what the property tests over the route table
// generate from the schemas the routes run (as the document states them). Valid values come
// from the declared types, enums, patterns, ranges and sizes; each field is sometimes swapped
// for junk, left out, or set to a value just past one of its limits, so both sides of every
// rule are tried.

import fc from "fast-check";

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema is walked as plain JSON.
export type JsonSchema = Record<string, any>;

/** Values no typed field accepts: other types, odd Unicode, long strings. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.constant(1.5),
  fc.constant(Number.MAX_SAFE_INTEGER + 2),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.anything(), { maxKeys: 3 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.string({ minLength: 129, maxLength: 300 }),
);

/** Integers at and around every bound that matters here. */
function integers(schema: JsonSchema): fc.Arbitrary<number> {
  const min = schema.minimum ?? -1_000_000_000;
  const max = schema.maximum ?? 1_000_000_000;
  const edges = [min - 1, min, min + 1, max - 1, max, max + 1, -1, 0, 1, 2, 1_000_000, 1_000_001];
  const common = [1, -1, 1, 3].filter((n) => n >= min && n <= max);
  return fc.oneof(
    { arbitrary: fc.constantFrom(...common), weight: 4 },
    fc.constantFrom(...edges),
    fc.integer({ min, max }),
  );
}

function strings(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.enum)
    return fc.oneof(
      { arbitrary: fc.constantFrom(...(schema.enum as string[])), weight: 20 },
      fc.constant("share"),
    );
  // fast-check cannot generate from a lookahead: the pattern without it, so some of what it
  // makes breaks the lookahead (the invalid side), as do the fixed samples.
  const generable = schema.pattern?.replace(/\(\?![^)]*\)/g, "");
  const valid = generable ? fc.stringMatching(new RegExp(generable)) : fc.string();
  const edges = fc.constantFrom("", "a b", "x".repeat(129), "é", "idem:k#0", "auto:1");
  return fc.oneof({ arbitrary: valid, weight: 20 }, edges);
}

function arrays(schema: JsonSchema): fc.Arbitrary<unknown[]> {
  const item = valuesOf(schema.items ?? {});
  const max = schema.maxItems ?? 5;
  // Mostly short lists; sometimes right at the size limits, where an off-by-one would hide.
  return fc.oneof(
    { arbitrary: fc.array(item, { minLength: 0, maxLength: Math.min(max, 6) }), weight: 8 },
    fc
      .integer({ min: Math.max(0, max - 1), max: max + 1 })
      .chain((n) => fc.array(item, { minLength: n, maxLength: n })),
  );
}

function objects(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const fields = Object.fromEntries(
    Object.entries(properties).map(([name, property]) => [
      name,
      fc.oneof({ arbitrary: valuesOf(property), weight: 40 }, junk, fc.constant(undefined)),
    ]),
  );
  return fc
    .tuple(
      fc.record(fields),
      fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.anything(), { maxKeys: 2 })),
    )
    .map(([record, extra]) => {
      const value: Record<string, unknown> = { ...(extra ?? {}) };
      for (const [k, v] of Object.entries(record)) if (v !== undefined) value[k] = v;
      return value;
    });
}

/** Mostly valid values of `schema`, with every kind of invalid one mixed in. */
export function valuesOf(schema: JsonSchema): fc.Arbitrary<unknown> {
  switch (schema.type) {
    case "object":
      return fc.oneof({ arbitrary: objects(schema), weight: 30 }, junk);
    case "array":
      return fc.oneof({ arbitrary: arrays(schema), weight: 30 }, junk);
    case "integer":
    case "number":
      return integers(schema);
    case "string":
      return strings(schema);
    default:
      return fc.anything();
  }
}
