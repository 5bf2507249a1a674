// The OpenAPI 3.1 document of the API, generated from the wire schemas in schemas.ts (zod
// emits JSON Schema 2020-12, OpenAPI 3.1's dialect) and the configured counter types.
// Served at /openapi.json by the local server and written by `npm run build`; never part of
// a Lambda bundle.

import * as z from "zod/mini";
import { STATUS_TITLES } from "../domain/errors.ts";
import type { CounterTypes } from "../domain/model.ts";
import {
  BatchResponse,
  CounterResponse,
  ErrorResponse,
  HealthResponse,
  HotResponse,
  IncrementResponse,
} from "./responses.ts";
import { BatchBody, IDENTIFIER, IncrementBody } from "./schemas.ts";

type Json = Record<string, unknown>;

function jsonSchema(schema: z.core.$ZodType, io: "input" | "output"): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io }) as Json;
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
    when: "A write without a valid API key, when keys are configured.",
    todo: "Send `Authorization: Bearer <key>` or `x-api-key`.",
  },
  { status: 404, when: "No such route.", todo: "Check the path against this document." },
  {
    status: 405,
    when: "Known path, wrong method; `Allow` names the right one.",
    todo: "Use the method in `Allow`.",
  },
  {
    status: 413,
    when: "The body is larger than the limit (64 KiB by default); nothing was read or applied.",
    todo: "Send a smaller body: a batch holds at most 100 queries.",
  },
  {
    status: 415,
    when: "A body with a content type other than JSON.",
    todo: "Send `Content-Type: application/json`.",
  },
  {
    status: 422,
    when: "An `Idempotency-Key` reused with a different request.",
    todo: "Use a new key for a new request; reuse a key only to retry the same one.",
  },
  { status: 429, when: "A rate limit was exceeded.", todo: "Wait `Retry-After` seconds." },
  {
    status: 500,
    when: "Something unexpected; nothing internal is shown.",
    todo: "Retry later; report it if it persists.",
  },
  {
    status: 503,
    when: "The store did not answer in time or is unreachable. For an increment, the message says whether it may have been applied.",
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

const ok = (ref: string, example: unknown, description = "OK") => ({
  description,
  content: { "application/json": { schema: { $ref: `#/components/schemas/${ref}` }, example } },
});

export function buildOpenApiDocument(counterTypes: CounterTypes, version: string): Json {
  const types = [...counterTypes.keys()];
  const unique = types.filter((t) => counterTypes.get(t) === "unique");
  const total = types.filter((t) => counterTypes.get(t) === "total");
  const identifier = { type: "string", pattern: IDENTIFIER.source, minLength: 1, maxLength: 128 };
  const typeParam = {
    name: "counter_type",
    in: "path",
    required: true,
    schema: { type: "string", enum: types },
  };
  const common = [
    errorResponse(500, "An unexpected error occurred"),
    errorResponse(503, "The counter store is unavailable. Retry shortly."),
  ];
  const errors = (...statuses: [number, string][]) =>
    Object.fromEntries([
      ...statuses.map(([s, m]) => [String(s), errorResponse(s, m)]),
      ["500", common[0]],
      ["503", common[1]],
    ]);

  const incrementBody = jsonSchema(IncrementBody, "input");
  const props = incrementBody.properties as Record<string, Json>;
  props.counter_type = { type: "string", enum: types };
  props.increment = {
    ...props.increment,
    default: 1,
    description: `Unique types (${unique.join(", ")}): 1 adds the user, -1 removes. Total types (${total.join(", ")}): 1 to 1000000.`,
  };
  const batchBody = jsonSchema(BatchBody, "input");

  const paths: Json = {
    "/health": {
      get: {
        operationId: "health",
        summary: "Health of the service; with deep=1 also of the store",
        tags: ["service"],
        parameters: [
          {
            name: "deep",
            in: "query",
            required: false,
            schema: { type: "string", enum: ["1", "true", "0", "false"] },
            description: "Ping the store too",
          },
        ],
        responses: {
          "200": ok("Health", {
            status: "ok",
            service: "highpress",
            version,
            store: "redis",
            store_latency_ms: 0.4,
          }),
          "503": {
            description: "The deep check could not reach the store",
            content: {
              "application/json": {
                schema: { $ref: "#/components/schemas/Health" },
                example: {
                  status: "unavailable",
                  service: "highpress",
                  version,
                  store: "redis",
                  error: "Service Unavailable",
                  code: 503,
                  message: "The counter store is unreachable",
                },
              },
            },
          },
        },
      },
    },
    "/api/v1/counter/increment": {
      post: {
        operationId: "increment",
        summary: "Add to a counter, or add/remove a user of a unique counter",
        description:
          "`count` is the value after this request; `applied` is false when nothing changed. Concurrent increments are never lost or applied twice. With an `Idempotency-Key`, a retry of the same request within 24 h is not applied again and gets the first answer back.",
        tags: ["counters"],
        security: [{ bearerKey: [] }, { headerKey: [] }, {}],
        parameters: [
          {
            name: "Idempotency-Key",
            in: "header",
            required: false,
            schema: { type: "string", minLength: 1, maxLength: 128, pattern: "^[\\x20-\\x7E]+$" },
            description:
              "Makes a retry safe: the first request with a key is applied, a retry of it is answered from the record.",
          },
        ],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: incrementBody,
              examples: {
                like: {
                  value: {
                    resource_id: "article_001",
                    counter_type: unique[0] ?? types[0],
                    user_id: "user_123",
                    increment: 1,
                  },
                },
                view: {
                  value: {
                    resource_id: "article_001",
                    counter_type: total[0] ?? types[0],
                    user_id: "user_123",
                    increment: 1,
                  },
                },
              },
            },
          },
        },
        responses: {
          "200": {
            ...ok("IncrementResult", {
              success: true,
              data: {
                resource_id: "article_001",
                counter_type: unique[0] ?? types[0],
                count: 42,
                success: true,
                applied: true,
              },
            }),
            headers: {
              "Idempotent-Replayed": {
                description: "true when this answer is a replay",
                schema: { type: "string", enum: ["true"] },
              },
            },
          },
          ...errors(
            [400, "increment: must be 1 or -1 for the unique counter type like"],
            [401, "Authorization: an API key is required (Authorization: Bearer <key> or x-api-key)"],
            [413, "body: must be at most 65536 bytes"],
            [415, "Content-Type: must be application/json, got text/plain"],
            [422, "Idempotency-Key: this key was already used with a different request"],
            [429, "Too many requests"],
          ),
        },
      },
    },
    "/api/v1/counter/{resource_id}/{counter_type}": {
      get: {
        operationId: "getCounter",
        summary: "Read one counter",
        description:
          "A counter never incremented reads 0. Total types add `unique_users` (approximate). Unique types take `user_id` and add `member`. A resource named `hot` is read with the batch route: that path is the ranking.",
        tags: ["counters"],
        parameters: [
          { name: "resource_id", in: "path", required: true, schema: identifier },
          typeParam,
          {
            name: "user_id",
            in: "query",
            required: false,
            schema: identifier,
            description: "Unique types: answer `member` for this user",
          },
        ],
        responses: {
          "200": ok("CounterResult", {
            success: true,
            data: {
              resource_id: "article_001",
              counter_type: total[0] ?? types[0],
              count: 6,
              unique_users: 4,
            },
          }),
          ...errors([400, "resource_id: must be 1-128 characters from A-Z a-z 0-9 _ - . : @"]),
        },
      },
    },
    "/api/v1/counter/batch": {
      post: {
        operationId: "batch",
        summary: "Read 1 to 100 counters in one store round trip",
        tags: ["counters"],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: batchBody,
              example: {
                queries: [
                  { resource_id: "article_001", counter_type: unique[0] ?? types[0] },
                  { resource_id: "article_001", counter_type: total[0] ?? types[0] },
                ],
              },
            },
          },
        },
        responses: {
          "200": ok("BatchResult", {
            success: true,
            data: [
              { resource_id: "article_001", counter_type: unique[0] ?? types[0], count: 3 },
              { resource_id: "article_001", counter_type: total[0] ?? types[0], count: 6 },
            ],
          }),
          ...errors(
            [400, "queries: must hold at most 100 queries"],
            [413, "body: must be at most 65536 bytes"],
            [415, "Content-Type: must be application/json, got text/plain"],
          ),
        },
      },
    },
    "/api/v1/counter/hot/{counter_type}": {
      get: {
        operationId: "hot",
        summary: "The hot ranking: highest first, ties by resource_id",
        description:
          "`hour`, `day` and `week` are UTC calendar buckets (the ISO week): what was added in the current one. `all` ranks the counter values.",
        tags: ["ranking"],
        parameters: [
          typeParam,
          {
            name: "limit",
            in: "query",
            required: false,
            schema: { type: "integer", minimum: 1, maximum: 100, default: 10 },
          },
          {
            name: "period",
            in: "query",
            required: false,
            schema: { type: "string", enum: ["hour", "day", "week", "all"], default: "day" },
          },
        ],
        responses: {
          "200": ok("HotResult", {
            success: true,
            data: {
              counter_type: unique[0] ?? types[0],
              period: "day",
              items: [
                { resource_id: "article_001", count: 120 },
                { resource_id: "article_002", count: 80 },
              ],
            },
          }),
          ...errors([400, "limit: must be an integer from 1 to 100"]),
        },
      },
    },
  };

  const catalogue = ERROR_CATALOGUE.map(
    (e) => `| ${e.status} | ${STATUS_TITLES[e.status]} | ${e.when} | ${e.todo} |`,
  ).join("\n");
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "HighPress counter API",
      version,
      description: `Real-time counters (likes, views, follows) that stay exact under concurrency. Counter types: ${types
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
    ],
    paths,
    components: {
      schemas: {
        IncrementResult: jsonSchema(IncrementResponse, "output"),
        CounterResult: jsonSchema(CounterResponse, "output"),
        BatchResult: jsonSchema(BatchResponse, "output"),
        HotResult: jsonSchema(HotResponse, "output"),
        Health: jsonSchema(HealthResponse, "output"),
        Error: jsonSchema(ErrorResponse, "output"),
      },
      securitySchemes: {
        bearerKey: {
          type: "http",
          scheme: "bearer",
          description: "An API key, on writes, when the server has API keys configured",
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
