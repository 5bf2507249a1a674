// The document says what runs: a walk over /openapi.json. For every route, each parameter,
// header and body field the document constrains (type, enum, pattern, range, size, required,
// the increment's rule by counter kind) is sent once with a value the document declares
// invalid, everything else valid: the answer must be a 400 naming that field. Values it
// declares valid (each enum member, the range's ends, a pattern's sample) must not be a 400.

import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../../shared/http/openapi.ts";
import { VERSION } from "../../shared/http/version.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import type { JsonSchema } from "../support/schema-values.ts";
import { firstEventText } from "../support/sse.ts";
import { DEFAULT_TYPES, json, testApp } from "../support/test-app.ts";

const ADMIN_KEY = "admin-key-for-document-tests";
const doc = buildOpenApiDocument(DEFAULT_TYPES, VERSION) as JsonSchema;
const app = testApp(createMemoryStore(), { adminKeys: [ADMIN_KEY] }).app;

const matches = (schema: JsonSchema, value: string) => new RegExp(schema.pattern, "u").test(value);
/** Samples a pattern is tried with: the first it takes is the valid value, the first it refuses the invalid one. */
const STRING_SAMPLES = [
  "article_001",
  "user_123",
  "green",
  "likes",
  "Key-1",
  "a b",
  "x".repeat(129),
  "Ã©",
  "",
];

/** A valid value of a schema, as JSON. */
function validValue(schema: JsonSchema): unknown {
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  if (schema.type === "integer") return schema.minimum ?? 1;
  if (schema.type === "string") return STRING_SAMPLES.find((s) => !schema.pattern || matches(schema, s));
  throw new Error(`no valid value for ${JSON.stringify(schema)}`);
}

/** Values the schema refuses; a parameter is text, so only a body field is sent a wrong type. */
function invalidValues(schema: JsonSchema, inBody: boolean): unknown[] {
  const values: unknown[] = [];
  if (schema.enum) values.push(typeof schema.enum[0] === "number" ? 2 : "not-a-member");
  if (schema.type === "integer") {
    values.push(1.5, "seven");
    if (schema.minimum !== undefined && schema.minimum > -1e15) values.push(schema.minimum - 1);
    if (schema.maximum !== undefined && schema.maximum < 1e15) values.push(schema.maximum + 1);
  }
  if (schema.type === "string") {
    if (inBody) values.push(7);
    const refused = STRING_SAMPLES.find((s) => schema.pattern && !matches(schema, s));
    if (refused !== undefined) values.push(refused);
  }
  return values;
}

/** Values the schema takes: each enum member, both ends of a range. */
function validValues(schema: JsonSchema): unknown[] {
  if (schema.enum) return schema.enum;
  if (schema.type === "integer")
    return [schema.minimum, schema.maximum].filter((n) => n !== undefined && Math.abs(n) < 1e15);
  return [validValue(schema)];
}

interface Operation {
  method: string;
  path: string;
  // biome-ignore lint/suspicious/noExplicitAny: walked as plain JSON.
  op: any;
}
const operations: Operation[] = Object.entries(doc.paths as JsonSchema).flatMap(([path, item]) =>
  Object.entries(item as JsonSchema).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
);

interface Request {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, unknown>;
  body?: unknown;
}

/** A request with every parameter valid and the body of the route's first example. */
function validRequest({ op }: Operation): Request {
  const request: Request = { params: {}, query: {}, headers: {} };
  for (const p of op.parameters ?? []) {
    const where = p.in === "path" ? request.params : p.in === "query" ? request.query : request.headers;
    if (p.required) where[p.name] = validValue(p.schema);
  }
  const examples = op.requestBody?.content["application/json"].examples;
  if (examples) request.body = structuredClone(Object.values(examples as JsonSchema)[0].value);
  return request;
}

async function send(operation: Operation, request: Request) {
  const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(String(request.params[name])),
  );
  const query = new URLSearchParams(Object.entries(request.query).map(([k, v]) => [k, String(v)])).toString();
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
  for (const [k, v] of Object.entries(request.headers)) headers[k] = String(v);
  if (request.body !== undefined) headers["content-type"] = "application/json";
  const res = await app.request(`${path}${query ? `?${query}` : ""}`, {
    method: operation.method,
    headers,
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
  });
  const type = res.headers.get("content-type") ?? "";
  if (type.startsWith("application/json")) return { status: res.status, body: await json(res) };
  // A stream never ends: its first event is the answer.
  const text = type === "text/event-stream" ? await firstEventText(res) : await res.text();
  return { status: res.status, body: { text } };
}

const where = { path: "params", query: "query", header: "headers" } as const;

interface Field {
  /** The API's name for it: `increments[0].counter_type`. */
  name: string;
  schema: JsonSchema;
  value: unknown;
  required: boolean;
  set: (value: unknown) => void;
  remove: () => void;
}

/** Each body field the schema declares (an array's through its first item), in the body `value`. */
function bodyFields(schema: JsonSchema, value: unknown, name = ""): Field[] {
  const fields: Field[] = [];
  if (schema.type === "object" && value && typeof value === "object") {
    const object = value as Record<string, unknown>;
    for (const [key, property] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
      const child = name ? `${name}.${key}` : key;
      fields.push({
        name: child,
        schema: property,
        value: object[key],
        required: (schema.required ?? []).includes(key),
        set: (v) => {
          object[key] = v;
        },
        remove: () => {
          delete object[key];
        },
      });
      fields.push(...bodyFields(property, object[key], child));
    }
  }
  if (schema.type === "array" && Array.isArray(value) && value.length > 0) {
    fields.push(...bodyFields(schema.items, value[0], `${name}[0]`));
  }
  return fields;
}

/** The ways to break a body field, each applied to a fresh copy of it. */
function breakages(field: Field): [string, (f: Field) => void][] {
  const tries: [string, (f: Field) => void][] = invalidValues(field.schema, true).map((v) => [
    JSON.stringify(v),
    (f) => f.set(v),
  ]);
  if (field.required) tries.push(["left out", (f) => f.remove()]);
  if (field.schema.minItems !== undefined) tries.push(["empty", (f) => f.set([])]);
  if (field.schema.maxItems !== undefined) {
    const one = (field.value as unknown[])[0];
    tries.push(["one too many", (f) => f.set(Array(field.schema.maxItems + 1).fill(one))]);
  }
  return tries;
}

describe("every constraint the document declares is enforced", () => {
  const cases: [string, Operation][] = operations.map((o) => [`${o.method} ${o.path}`, o]);

  it.each(cases)("%s: the valid request is not refused", async (_name, operation) => {
    const { status, body } = await send(operation, validRequest(operation));
    // Not a 400: what the route then decides (a unique counter cannot be set: 409) is its own rule.
    expect([200, 202, 409], JSON.stringify(body)).toContain(status);
  });

  it.each(cases)(
    "%s: each parameter refuses what the document refuses, by name",
    async (_name, operation) => {
      for (const p of operation.op.parameters ?? []) {
        for (const value of invalidValues(p.schema, false)) {
          const request = validRequest(operation);
          request[where[p.in as keyof typeof where]][p.name] = value;
          const { status, body } = await send(operation, request);
          expect(status, `${p.name}=${JSON.stringify(value)}: ${JSON.stringify(body)}`).toBe(400);
          expect(body.details.map((d: { path: string }) => d.path)).toContain(p.name);
        }
        for (const value of validValues(p.schema)) {
          const request = validRequest(operation);
          request[where[p.in as keyof typeof where]][p.name] = value;
          const { status, body } = await send(operation, request);
          expect(status, `${p.name}=${JSON.stringify(value)}: ${JSON.stringify(body)}`).not.toBe(400);
        }
      }
    },
  );

  it.each(cases.filter(([, o]) => o.op.requestBody))(
    "%s: each body field refuses what the document refuses, by name",
    async (_name, operation) => {
      const schema = operation.op.requestBody.content["application/json"].schema as JsonSchema;
      const fields = bodyFields(schema, validRequest(operation).body);
      expect(fields.length).toBeGreaterThan(0);
      for (const [i, field] of fields.entries()) {
        for (const [what, apply] of breakages(field)) {
          const request = validRequest(operation);
          apply(bodyFields(schema, request.body)[i] as Field);
          const { status, body } = await send(operation, request);
          expect(status, `${field.name} ${what}: ${JSON.stringify(body)}`).toBe(400);
          expect(
            body.details.map((d: { path: string }) => d.path),
            `${field.name} ${what}`,
          ).toContain(field.name);
        }
      }
    },
  );

  it("the increment's rule by counter kind (allOf if/then) is the rule that runs", async () => {
    const operation = operations.find((o) => o.path === "/api/v1/counter/increment") as Operation;
    const schema = operation.op.requestBody.content["application/json"].schema as JsonSchema;
    expect(schema.allOf.length).toBe(2);
    for (const branch of schema.allOf as JsonSchema[]) {
      const rule = branch.then.properties.increment as JsonSchema;
      for (const type of branch.if.properties.counter_type.enum as string[]) {
        const refused = rule.enum ? [0, 2, -2] : [rule.minimum - 1, rule.maximum + 1];
        const taken = rule.enum ?? [rule.minimum, rule.maximum];
        for (const increment of [...refused, ...taken]) {
          const request = validRequest(operation);
          Object.assign(request.body as object, { counter_type: type, increment });
          const { status, body } = await send(operation, request);
          if (refused.includes(increment)) {
            expect(status, `${type} ${increment}`).toBe(400);
            expect(body.details).toEqual([{ path: "increment", message: expect.any(String) }]);
          } else expect(status, `${type} ${increment}: ${JSON.stringify(body)}`).toBe(200);
        }
      }
    }
  });
});
