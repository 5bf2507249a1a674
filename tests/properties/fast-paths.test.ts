// One property test over the whole route table: every fast path answers exactly as its
// route's schema does, the hand-written ones for bodies and the ones made from the params,
// query and headers schemas. Bodies are generated from the schema the route runs (as the
// document states it), valid and invalid mixed; for each, the fast path's answer must equal
// the schema's (its output when valid, nothing when not), and the valid side must be reached
// often enough to mean something.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { ROUTES } from "../../shared/http/routes.ts";
import { requestSchemas } from "../../shared/http/schemas.ts";
import { simpleCheck } from "../../shared/http/simple-check.ts";
import { type JsonSchema, valuesOf } from "../support/schema-values.ts";
import { DEFAULT_TYPES } from "../support/test-app.ts";

const schemas = requestSchemas(DEFAULT_TYPES);
const withFastPaths = ROUTES.filter((route) => route.fast);

const PARTS = ["params", "query", "headers"] as const;
/** Every params, query and headers schema of the table, with the fast check made from it. */
const simpleParts = ROUTES.flatMap((route) =>
  PARTS.flatMap((part) => {
    const schema = route.input(schemas)[part];
    const check = schema && simpleCheck(schema);
    return schema && check ? [[`${route.id} ${part}`, schema, check] as const] : [];
  }),
);

describe("the fast checks made from the table's params, query and headers schemas", () => {
  it("cover every such schema of the table", () => {
    const all = ROUTES.flatMap((route) => PARTS.filter((part) => route.input(schemas)[part]));
    expect(simpleParts).toHaveLength(all.length);
  });

  it.each(simpleParts)("%s answers as its schema", (_name, schema, check) => {
    const document = z.toJSONSchema(schema, { io: "input" }) as JsonSchema;
    let valid = 0;
    fc.assert(
      fc.property(valuesOf(document), (value) => {
        if (typeof value !== "object" || value === null || Array.isArray(value)) return;
        const parsed = z.safeParse(schema, value);
        expect(check(value as Record<string, unknown>)).toEqual(parsed.success ? parsed.data : undefined);
        if (parsed.success) valid++;
      }),
      { numRuns: 800 },
    );
    expect(valid).toBeGreaterThan(20);
  });
});

describe("every fast path in the route table", () => {
  it("is there for each write and batch read (the hot paths)", () => {
    expect(withFastPaths.map((r) => r.id).sort()).toEqual([
      "batch",
      "increment",
      "incrementMany",
      "queueEvents",
    ]);
  });

  it.each(withFastPaths.map((r) => [r.id, r] as const))("%s answers as its schema", (_id, route) => {
    const body = route.input(schemas).body as z.ZodMiniType;
    const document = z.toJSONSchema(body, { io: "input" }) as JsonSchema;
    let valid = 0;
    fc.assert(
      fc.property(valuesOf(document), (value) => {
        const fast = route.fast?.(value, DEFAULT_TYPES);
        const parsed = z.safeParse(body, value);
        expect(fast).toEqual(parsed.success ? parsed.data : undefined);
        if (parsed.success) valid++;
      }),
      { numRuns: 1500 },
    );
    expect(valid).toBeGreaterThan(50);
  });
});
