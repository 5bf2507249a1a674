// The OpenAPI 3.1 document of the API, generated in a loop over the route table (routes.ts)
// and the configured counter types; zod emits JSON Schema 2020-12, OpenAPI 3.1's dialect.
// Served at /openapi.json by the local server and written by `npm run build`; never part of
// a Lambda bundle.

import * as z from "zod/mini";
import type { CounterTypes } from "../domain/model.ts";
import { STATUS_TITLES } from "./http-errors.ts";
import { ANSWERS, ErrorResponse } from "./responses.ts";
import { type ExampleTypes, type InputSchemas, ROUTES, type RouteSpec, type TableRoute } from "./routes.ts";
import {
  DOCUMENTED,
  MAX_TOTAL_INCREMENT,
  type RequestSchemas,
  requestSchemas,
  typeNames,
} from "./schemas.ts";

type Json = Record<string, unknown>;

/**
 * A zod schema as JSON Schema, with the rules zod runs as refinements (DOCUMENTED, beside
 * the schema that runs them) merged in, and `each` told of every node.
 */
function jsonSchema(schema: z.core.$ZodType, io: "input" | "output", each?: (node: Json) => void): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    override: ({ zodSchema, jsonSchema: node }) => {
      Object.assign(node, DOCUMENTED.get(zodSchema as z.core.$ZodType));
      each?.(node as Json);
    },
  }) as Json;
  return rest;
}

/** What each status means and what a client should do: the error catalogue. */
const ERROR_CATALOGUE: { status: number; when: string; todo: string }[] = [
  {
    status: 400,
    when: "A field, parameter or the body failed validation; `details` lists every problem.",
    todo: "Fix the request; retrying it unchanged fails again.",
  },
  {
    status: 401,
    when: "A write (or with READ_AUTH, any request but /health) without a valid API key, when keys are configured; an admin route without an admin key.",
    todo: "Send `Authorization: Bearer <key>` or `x-api-key`.",
  },
  {
    status: 403,
    when: "An admin route called with a write key (from API_KEYS), not an admin key.",
    todo: "Use an admin key (ADMIN_KEYS).",
  },
  {
    status: 404,
    when: "No such route; every admin route while the server has no ADMIN_KEYS.",
    todo: "Check the path against this document.",
  },
  {
    status: 405,
    when: "Known path, wrong method; `Allow` names the right one.",
    todo: "Use the method in `Allow`.",
  },
  {
    status: 408,
    when: "The local server did not receive the whole request, body included, within its deadline (REQUEST_TIMEOUT_MS).",
    todo: "Send the request at once; retry it.",
  },
  {
    status: 409,
    when: "An increment would take a total counter past 9007199254740991 (2^53 - 1), the largest exact count, or an admin tried to set a unique counter; nothing was applied.",
    todo: "Do not retry it: the counter is full (or reset it); a unique counter changes only by increments.",
  },
  {
    status: 413,
    when: "The body is larger than the limit (64 KiB by default); nothing was read or applied.",
    todo: "Send a smaller body: a batch holds at most 100 queries.",
  },
  {
    status: 415,
    when: "A body with a content type other than JSON, or compressed (`Content-Encoding` other than identity).",
    todo: "Send `Content-Type: application/json`, uncompressed.",
  },
  {
    status: 422,
    when: "An `Idempotency-Key` reused with a different request.",
    todo: "Use a new key for a new request; reuse a key only to retry the same one.",
  },
  {
    status: 429,
    when: "A rate limit was exceeded, or too many wrong or missing API keys came from one address.",
    todo: "Wait `Retry-After` seconds.",
  },
  {
    status: 500,
    when: "Something unexpected; nothing internal is shown.",
    todo: "Retry later; report it if it persists.",
  },
  {
    status: 503,
    when: "The store did not answer in time, is unreachable, or refused the command (out of memory, read-only). For an increment, `may_have_applied` says whether it may have been applied: false when the store refused it or it was never sent, true when it was sent and not confirmed.",
    todo: "Wait `Retry-After` seconds and retry; retry an increment with the same `Idempotency-Key` so it applies once.",
  },
];

const errorResponse = (status: number, example: string) => ({
  description: `${STATUS_TITLES[status]}: ${ERROR_CATALOGUE.find((e) => e.status === status)?.when ?? ""}`,
  content: {
    "application/json": {
      schema: { $ref: "#/components/schemas/Error" },
      example: { error: STATUS_TITLES[status], code: status, message: example },
    },
  },
  ...(status === 503 || status === 429
    ? {
        headers: {
          "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer" } },
        },
      }
    : {}),
});

type Types = ReturnType<typeof typeNames>;

/** A route's parameters of one kind (path, query or header), from its zod object. */
function parametersOf(schema: z.ZodMiniObject | undefined, where: "path" | "query" | "header"): Json[] {
  if (!schema) return [];
  const object = jsonSchema(schema, "input");
  const required = new Set((object.required as string[] | undefined) ?? []);
  return Object.entries(object.properties as Record<string, Json>).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    schema: property,
  }));
}

/** The increment's meaning by kind, beside the rule the schema states. */
const incrementDescription = (types: Types) =>
  `Unique types (${types.unique.join(", ")}): 1 adds the user, -1 removes. Total types (${types.total.join(", ")}): 1 to ${MAX_TOTAL_INCREMENT}.`;

/** The request body's schema, as it runs, with its examples. */
function bodyOf(
  route: RouteSpec,
  inputs: InputSchemas,
  types: Types,
  examples: ExampleTypes,
): Json | undefined {
  if (!inputs.body) return undefined;
  const schema = jsonSchema(inputs.body, "input", (node) => {
    const increment = (node.properties as Record<string, Json> | undefined)?.increment;
    if (increment) increment.description = incrementDescription(types);
  });
  const named = Object.entries(route.examples?.(examples) ?? {}).map(([name, value]) => [name, { value }]);
  return { required: true, content: { "application/json": { schema, examples: Object.fromEntries(named) } } };
}

/** Who may call a route: an admin key (no alternative), a key where keys are set, or anyone. */
function securityOf(route: RouteSpec): Json {
  if (route.auth === "none") return {};
  if (route.auth === "admin") return { security: [{ bearerKey: [] }, { headerKey: [] }] };
  return { security: [{ bearerKey: [] }, { headerKey: [] }, {}] };
}

function operationOf(route: TableRoute, schemas: RequestSchemas, types: Types, examples: ExampleTypes): Json {
  const inputs = route.input(schemas);
  const requestBody = bodyOf(route, inputs, types, examples);
  const parameters = [
    ...parametersOf(inputs.params, "path"),
    ...parametersOf(inputs.query, "query"),
    ...parametersOf(inputs.headers, "header"),
  ];
  return {
    operationId: route.id,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    ...securityOf(route),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: {
      [String(route.answer.status ?? 200)]: {
        description: route.answer.status === 202 ? "Accepted: queued, counted shortly after" : "OK",
        content: {
          [route.answer.mediaType ?? "application/json"]: {
            schema: { $ref: `#/components/schemas/${route.answer.name}` },
            example: route.answer.example(examples),
          },
        },
      },
      ...Object.fromEntries(
        [...route.errors, ...COMMON_ERRORS].map(([status, message]) => [
          String(status),
          errorResponse(status, message),
        ]),
      ),
    },
  };
}

const COMMON_ERRORS: [number, string][] = [
  [500, "An unexpected error occurred"],
  [503, "The counter store is unavailable. Retry shortly."],
];

/** The OpenAPI paths, one operation per route of the table, in a loop. */
function pathsOf(schemas: RequestSchemas, types: Types, examples: ExampleTypes): Json {
  const paths: Record<string, Json> = {};
  for (const route of ROUTES) {
    paths[route.path] = {
      ...paths[route.path],
      [route.method.toLowerCase()]: operationOf(route, schemas, types, examples),
    };
  }
  return paths;
}

export function buildOpenApiDocument(counterTypes: CounterTypes, version: string): Json {
  const types = typeNames(counterTypes);
  const all = types.all;
  const examples: ExampleTypes = {
    version,
    unique: types.unique[0] ?? all[0] ?? "like",
    total: types.total[0] ?? all[0] ?? "view",
  };
  const catalogue = ERROR_CATALOGUE.map(
    (e) => `| ${e.status} | ${STATUS_TITLES[e.status]} | ${e.when} | ${e.todo} |`,
  ).join("\n");
  const answers = Object.fromEntries(
    ROUTES.map((r) => [r.answer.name, jsonSchema(ANSWERS[r.answer.name], "output")]),
  );
  return {
    // OpenAPI 3.1's default JSON Schema dialect is 2020-12, which zod emits: naming it again
    // (jsonSchemaDialect) made Swagger UI show a red warning box.
    openapi: "3.1.0",
    info: {
      title: "HighPress counter API",
      version,
      description: `Real-time counters (likes, views, follows) that stay exact under concurrency. Counter types: ${all
        .map((t) => `\`${t}\` (${counterTypes.get(t)})`)
        .join(
          ", ",
        )}.\n\nEvery error is JSON: \`{ "error": <title>, "code": <status>, "message": <sentence naming the field>, "details"?: [{ "path", "message" }] }\`. Bad input changes nothing.\n\n| status | error | when | what to do |\n|---|---|---|---|\n${catalogue}`,
    },
    servers: [{ url: "/", description: "This server" }],
    tags: [
      { name: "counters", description: "Increment and read counters" },
      { name: "ranking", description: "What is hot" },
      { name: "service", description: "Health" },
      {
        name: "admin",
        description:
          "The operator's routes: they need an admin key (ADMIN_KEYS), and without ADMIN_KEYS they do not exist (404).",
      },
    ],
    paths: pathsOf(requestSchemas(counterTypes), types, examples),
    components: {
      schemas: { ...answers, Error: jsonSchema(ErrorResponse, "output") },
      securitySchemes: {
        bearerKey: {
          type: "http",
          scheme: "bearer",
          description:
            "An API key, on writes, when the server has API keys configured; an admin key (ADMIN_KEYS) on the admin routes",
        },
        headerKey: {
          type: "apiKey",
          in: "header",
          name: "x-api-key",
          description: "The same key in x-api-key",
        },
      },
    },
  };
}
