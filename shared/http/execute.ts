// The route table, executed: one wrapper per route that enforces what its entry declares,
// in this order: its auth (401/403/429), its params, query and headers (one 400 naming every
// bad field), its body (read only by a route that has one; the fast path, else the schema),
// its rate-limit class; then it hands the handler the input as the schemas output it. No
// handler checks auth or parses input itself.

import type { Context } from "hono";
import * as z from "zod/mini";
import type { CounterTypes, RateLimit } from "../domain/model.ts";
import { readJson } from "./body.ts";
import type { Guards } from "./guards.ts";
import { type ErrorDetail, ValidationError } from "./http-errors.ts";
import type { Handler, HighPressEnv, Platform } from "./pipeline.ts";
import type { InputOf, InputSchemas, RouteId, TableRoute } from "./routes.ts";
import type { RequestSchemas } from "./schemas.ts";
import { simpleCheck } from "./simple-check.ts";

/** What a handler is handed beyond its parsed input. */
export interface Granted {
  /** The limits an `items` route counts in its write's store call (empty when none apply). */
  limits: RateLimit[];
  /** The admin key's digest on an admin route ("" elsewhere): what the audit line names. */
  adminDigest: string;
}

export type RouteHandler<K extends RouteId> = (
  c: Context<HighPressEnv>,
  input: InputOf<K> & Granted,
) => Response | Promise<Response>;
/** One handler per route of the table. */
export type RouteHandlers = { [K in RouteId]: RouteHandler<K> };

export interface ExecuteDeps {
  schemas: RequestSchemas;
  counterTypes: CounterTypes;
  guards: Guards;
  maxBodyBytes: number;
  platform: Platform;
}

/** `increments[3].counter_type`: a zod issue's path as the API names a field. */
export function fieldName(path: readonly PropertyKey[], whole = "body"): string {
  let name = "";
  for (const part of path)
    name += typeof part === "number" ? `[${part}]` : name ? `.${String(part)}` : String(part);
  return name || whole;
}

/** Parses one part of the input; its problems go to `details`. */
function parsePart(schema: z.ZodMiniType, value: unknown, details: ErrorDetail[]): unknown {
  const parsed = z.safeParse(schema, value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues)
    details.push({ path: fieldName(issue.path), message: issue.message });
  return undefined;
}

/** A schema's own type under optional and default: what a query string must be turned into. */
function baseType(schema: z.core.$ZodType): string {
  let def = schema._zod.def as { type: string; innerType?: z.core.$ZodType };
  while ((def.type === "optional" || def.type === "default") && def.innerType) {
    def = def.innerType._zod.def as typeof def;
  }
  return def.type;
}

const INTEGER_TEXT = /^-?\d{1,16}$/;

/**
 * A part's parser (params, query or headers): the fast check made from its schema takes a
 * valid value (simple-check.ts), and the schema explains anything else.
 */
function partParser(
  schema: z.ZodMiniObject,
): (value: Record<string, unknown>, details: ErrorDetail[]) => unknown {
  const fast = simpleCheck(schema);
  if (!fast) return (value, details) => parsePart(schema, value, details);
  return (value, details) => fast(value) ?? parsePart(schema, value, details);
}

/** Reads a query's declared parameters; a numeric one is turned into a number when it is one. */
function queryReader(schema: z.ZodMiniObject | undefined): (c: Context) => Record<string, unknown> {
  if (!schema) return () => ({});
  const keys = Object.keys(schema.shape).map((key) => ({
    key,
    numeric: baseType(schema.shape[key] as z.core.$ZodType) === "number",
  }));
  return (c) => {
    const query: Record<string, unknown> = {};
    for (const { key, numeric } of keys) {
      const text = c.req.query(key);
      if (text !== undefined) query[key] = numeric && INTEGER_TEXT.test(text) ? Number(text) : text;
    }
    return query;
  };
}

/** Reads a route's declared headers, by name, whatever their case. */
function headerReader(schema: z.ZodMiniObject | undefined): (c: Context) => Record<string, unknown> {
  if (!schema) return () => ({});
  const names = Object.keys(schema.shape);
  return (c) => {
    const headers: Record<string, unknown> = {};
    for (const name of names) {
      const value = c.req.header(name);
      if (value !== undefined) headers[name] = value;
    }
    return headers;
  };
}

/** The check a route's auth declares; an admin route's answers the key's digest. */
function authorizer(route: TableRoute, guards: Guards): (c: Context) => Promise<string> {
  switch (route.auth) {
    case "admin":
      return (c) => guards.requireAdminKey(c);
    case "write":
      return (c) => guards.requireWriteKey(c).then(() => "");
    case "read":
      return guards.readAuth ? (c) => guards.requireReadKey(c).then(() => "") : () => Promise.resolve("");
    default:
      return () => Promise.resolve("");
  }
}

/** The handler of `route` wrapped in what its entry declares. */
export function executed<K extends RouteId>(
  route: TableRoute,
  handler: RouteHandler<K>,
  deps: ExecuteDeps,
): Handler {
  const inputs: InputSchemas = route.input(deps.schemas);
  const readQuery = queryReader(inputs.query);
  const readHeaders = headerReader(inputs.headers);
  const authorize = authorizer(route, deps.guards);
  const { guards, counterTypes } = deps;
  const { body: bodySchema } = inputs;
  const parseParams = inputs.params && partParser(inputs.params);
  const parseQuery = inputs.query && partParser(inputs.query);
  const parseHeaders = inputs.headers && partParser(inputs.headers);
  const fast = route.fast;
  return async (c) => {
    const adminDigest = await authorize(c);
    const details: ErrorDetail[] = [];
    const params = parseParams ? parseParams(c.req.param(), details) : {};
    const query = parseQuery ? parseQuery(readQuery(c), details) : {};
    const headers = parseHeaders ? parseHeaders(readHeaders(c), details) : {};
    if (details.length > 0) throw new ValidationError(details);
    let body: unknown = {};
    if (bodySchema) {
      const raw = await readJson(c, deps.maxBodyBytes, deps.platform);
      body = fast?.(raw, counterTypes) ?? parsePart(bodySchema, raw, details);
      if (details.length > 0) throw new ValidationError(details);
    }
    let limits: RateLimit[] = [];
    if (guards.limiting) {
      if (route.rate.per === "request") await guards.checkLimits(c);
      else if (route.rate.per === "items") {
        limits = guards.batchLimitsFor(c, route.rate.users(body as never), route.rate.field);
      }
    }
    const input = { params, query, headers, body, limits, adminDigest } as InputOf<K> & Granted;
    return handler(c, input);
  };
}
