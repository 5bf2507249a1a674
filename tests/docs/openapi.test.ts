// The OpenAPI document against the running app: valid OpenAPI 3.1, every route documented
// and every documented route served, examples valid, and real answers matching the
// documented schema for each documented request.

import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import { beforeAll, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { type BuiltBundle, buildBundles } from "../../infra/bundling.ts";
import { mountDocs } from "../../shared/http/docs.ts";
import { buildOpenApiDocument } from "../../shared/http/openapi.ts";
import { ANSWERS, ErrorResponse, LiveEventData } from "../../shared/http/responses.ts";
import { ROUTES } from "../../shared/http/routes.ts";
import { requestSchemas } from "../../shared/http/schemas.ts";
import { VERSION } from "../../shared/http/version.ts";
import { createMemoryStore } from "../../shared/stores/memory.ts";
import { firstEventText } from "../support/sse.ts";
import { DEFAULT_TYPES, json, testApp } from "../support/test-app.ts";

// biome-ignore lint/suspicious/noExplicitAny: the document is walked as plain JSON.
type Doc = Record<string, any>;
const doc = buildOpenApiDocument(DEFAULT_TYPES, VERSION) as Doc;
// The answers' schemas by the names the document gives them, and the error envelope.
const SCHEMAS: Record<string, z.core.$ZodType> = { ...ANSWERS, Error: ErrorResponse };
const ADMIN_KEY = "admin-key-0123456789";
const MEDIA_TYPES = ["application/json", "image/svg+xml", "text/event-stream"];
/** A documented response's content: its one media type's entry. */
const contentOf = (response: Doc): Doc | undefined =>
  MEDIA_TYPES.map((type) => response.content?.[type]).find((c) => c !== undefined);
const operations = Object.entries(doc.paths as Doc).flatMap(([path, item]) =>
  Object.entries(item as Doc).map(([method, op]) => ({ path, method: method.toUpperCase(), op: op as Doc })),
);
const schemaOf = (response: Doc) => {
  const ref = contentOf(response)?.schema?.$ref as string | undefined;
  const schema = ref ? SCHEMAS[ref.replace("#/components/schemas/", "")] : undefined;
  if (!schema) throw new Error(`no schema for ${JSON.stringify(response).slice(0, 80)}`);
  return schema;
};

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const validated = await SwaggerParser.validate(structuredClone(doc) as never);
    expect(Object.keys((validated as Doc).paths)).toHaveLength(13);
  });

  it("documents every route of the app, and only those", () => {
    const served = ROUTES.map((r) => `${r.method} ${r.path}`).sort();
    const documented = operations.map((o) => `${o.method} ${o.path}`).sort();
    expect(documented).toEqual(served);
  });

  it("has examples that validate against the schemas the routes use", () => {
    const schemas = requestSchemas(DEFAULT_TYPES);
    for (const route of ROUTES) {
      const body = route.input(schemas).body;
      if (!body) continue;
      const { examples } =
        doc.paths[route.path][route.method.toLowerCase()].requestBody.content["application/json"];
      expect(Object.keys(examples as Doc).length, route.id).toBeGreaterThan(0);
      for (const example of Object.values(examples as Doc)) {
        expect(z.safeParse(body, example.value).success, `${route.id} ${JSON.stringify(example.value)}`).toBe(
          true,
        );
      }
    }
    for (const { path, method, op } of operations) {
      for (const [status, response] of Object.entries(op.responses as Doc)) {
        const example = contentOf(response)?.example;
        expect(example, `${method} ${path} ${status}`).toBeDefined();
        const parsed = z.safeParse(schemaOf(response), example);
        expect(parsed.success, `${method} ${path} ${status}: ${JSON.stringify(parsed.error?.issues)}`).toBe(
          true,
        );
        if (Number(status) >= 400) expect(example.code).toBe(Number(status));
      }
    }
  });

  it("lists every error status with what to do", () => {
    for (const status of [400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503]) {
      expect(doc.info.description).toMatch(new RegExp(`\\| ${status} \\|[^\\n]+\\|[^\\n]+\\|[^\\n]+\\|`));
    }
  });
});

describe("the running app answers as documented", () => {
  const t = testApp(createMemoryStore(), { adminKeys: [ADMIN_KEY] });
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const send = async (method: string, path: string, body?: unknown) =>
    t.app.request(path, {
      method,
      headers: { ...admin, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const answers: Record<string, () => Promise<Response>> = {
    "GET /health": () => t.get("/health?deep=1"),
    "POST /api/v1/counter/increment": () =>
      t.increment(
        doc.paths["/api/v1/counter/increment"].post.requestBody.content["application/json"].examples.like
          .value,
      ),
    "GET /api/v1/counter/{resource_id}/{counter_type}": () =>
      t.get("/api/v1/counter/article_001/like?user_id=user_123"),
    "POST /api/v1/counter/batch": () =>
      t.post(
        "/api/v1/counter/batch",
        doc.paths["/api/v1/counter/batch"].post.requestBody.content["application/json"].example,
      ),
    "GET /api/v1/counter/hot/{counter_type}": () => t.get("/api/v1/counter/hot/like?limit=10&period=day"),
    "GET /api/v1/counter/{resource_id}/{counter_type}/badge.svg": () =>
      t.get("/api/v1/counter/article_001/like/badge.svg?label=likes&color=green"),
    "GET /api/v1/counter/{resource_id}/{counter_type}/history": () =>
      t.get("/api/v1/counter/article_001/view/history?days=30"),
    "GET /api/v1/counter/{resource_id}/{counter_type}/history.svg": () =>
      t.get("/api/v1/counter/article_001/view/history.svg?days=30"),
    "GET /api/v1/counter/{resource_id}/{counter_type}/live": () =>
      t.get("/api/v1/counter/article_001/view/live"),
    "POST /api/v1/counter/increments": () =>
      t.post(
        "/api/v1/counter/increments",
        doc.paths["/api/v1/counter/increments"].post.requestBody.content["application/json"].examples.mixed
          .value,
      ),
    "PUT /api/v1/admin/counter/{resource_id}/{counter_type}": () =>
      send("PUT", "/api/v1/admin/counter/article_001/view", { count: 125000 }),
    "POST /api/v1/counter/events": () =>
      t.post(
        "/api/v1/counter/events",
        doc.paths["/api/v1/counter/events"].post.requestBody.content["application/json"].examples.views.value,
      ),
    "DELETE /api/v1/admin/counter/{resource_id}/{counter_type}": () =>
      send("DELETE", "/api/v1/admin/counter/article_001/like"),
    "DELETE /api/v1/admin/users/{user_id}": () => send("DELETE", "/api/v1/admin/users/user_123"),
  };
  const failures: Record<string, () => Promise<Response>> = {
    "POST /api/v1/counter/increment": () =>
      t.increment({ resource_id: "a b", counter_type: "like", user_id: "u" }),
    "GET /api/v1/counter/{resource_id}/{counter_type}": () => t.get("/api/v1/counter/a/nope"),
    "POST /api/v1/counter/batch": () => t.post("/api/v1/counter/batch", { queries: [] }),
    "GET /api/v1/counter/hot/{counter_type}": () => t.get("/api/v1/counter/hot/like?limit=0"),
    "GET /api/v1/counter/{resource_id}/{counter_type}/badge.svg": () =>
      t.get("/api/v1/counter/a/like/badge.svg?color=chartreuse"),
    "GET /api/v1/counter/{resource_id}/{counter_type}/history": () =>
      t.get("/api/v1/counter/a/view/history?days=366"),
    "GET /api/v1/counter/{resource_id}/{counter_type}/history.svg": () =>
      t.get("/api/v1/counter/a/view/history.svg?days=0"),
    "GET /api/v1/counter/{resource_id}/{counter_type}/live": () => t.get("/api/v1/counter/a/nope/live"),
    "POST /api/v1/counter/increments": () => t.post("/api/v1/counter/increments", { increments: [] }),
    "POST /api/v1/counter/events": () => t.post("/api/v1/counter/events", { events: [{ resource_id: "a" }] }),
    "PUT /api/v1/admin/counter/{resource_id}/{counter_type}": () =>
      send("PUT", "/api/v1/admin/counter/a/like", { count: 1 }),
    "DELETE /api/v1/admin/counter/{resource_id}/{counter_type}": async () =>
      t.app.request("/api/v1/admin/counter/a/like", { method: "DELETE" }),
    "DELETE /api/v1/admin/users/{user_id}": () => send("DELETE", "/api/v1/admin/users/a%20b"),
  };

  for (const { path, method, op } of operations) {
    const key = `${method} ${path}`;
    it(`${key}: success and failure match their documented schemas`, async () => {
      const send = answers[key];
      if (!send) throw new Error(`no request for ${key}`);
      const res = await send();
      const documented = op.responses[String(res.status)];
      expect(documented, `${key} answered ${res.status}, which is not documented`).toBeDefined();
      const type = res.headers.get("content-type");
      const media = type === "image/svg+xml" || type === "text/event-stream" ? type : "application/json";
      expect(contentOf(documented), `${key}: documented media type`).toBe(documented.content[media]);
      const body =
        media === "text/event-stream"
          ? await firstEventText(res)
          : media === "image/svg+xml"
            ? await res.text()
            : await json(res);
      const parsed = z.safeParse(schemaOf(documented), body);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      // A stream's events carry the data the document describes.
      if (media === "text/event-stream") {
        const data = /^data: (.*)$/m.exec(String(body))?.[1] ?? "";
        expect(z.safeParse(LiveEventData, JSON.parse(data)).success, data).toBe(true);
      }
      const fail = failures[key];
      if (fail) {
        const bad = await fail();
        expect(op.responses[String(bad.status)], `${key} answered ${bad.status}`).toBeDefined();
        expect(z.safeParse(ErrorResponse, await json(bad)).success).toBe(true);
      }
    });
  }
});

describe("docs on the local server", () => {
  const t = testApp(createMemoryStore());
  mountDocs(t.app, DEFAULT_TYPES);

  it("serves /openapi.json, the same document", async () => {
    const res = await t.get("/openapi.json");
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await json(res)).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it("serves /docs, a Swagger UI page whose assets are served too", async () => {
    const page = await (await t.get("/docs")).text();
    expect(page).toContain('url: "/openapi.json"');
    const assets = [...page.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      const res = await t.get(asset);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
    }
    expect((await t.get("/docs/assets/..%2Fpackage.json")).status).toBe(404);
  });
});

describe("the Lambda bundles", () => {
  let bundles: BuiltBundle[];
  beforeAll(async () => {
    bundles = await buildBundles("dist/test-docs", "upstash");
  }, 60_000);

  it("carry none of the documentation", () => {
    for (const bundle of bundles) {
      const code = readFileSync(bundle.file, "utf8");
      expect(code).not.toContain("swagger");
      expect(code).not.toContain("jsonSchemaDialect");
      expect(code).not.toContain("Idempotent-Replayed: true when");
    }
  });
});
