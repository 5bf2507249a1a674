// API Gateway (HTTP API, payload 2.0; REST payload 1.0 too) to the app and back. Lean and
// defensive, in place of hono/aws-lambda: whatever the event (null, a string, no
// requestContext, TRACE, a header with CR/LF, bad base64), the answer is the API's JSON
// envelope with its headers, its request id and its record, never a throw. The event
// stays here: the app asks the Platform below for the client address, the body, the id.

import type { Context } from "hono";
import type { Platform } from "../http/pipeline.ts";

/** The parts of an API Gateway proxy event this adapter reads. */
export interface ApiGatewayEvent {
  version?: string;
  rawPath?: string;
  rawQueryString?: string;
  path?: string;
  httpMethod?: string;
  headers?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  cookies?: unknown;
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext?: {
    requestId?: string;
    http?: { method?: string; path?: string; sourceIp?: string };
    identity?: { sourceIp?: string };
  };
}

export interface ProxyResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

/** What the app is handed with each request (`c.env`). */
interface LambdaBindings {
  event: ApiGatewayEvent;
  /** The body as text, decoded from base64 when the event says so. */
  body: string | undefined;
}

const bindings = (c: Context) => c.env as LambdaBindings;

export const lambdaPlatform: Platform = {
  clientAddress: (c) => {
    const context = bindings(c).event.requestContext;
    return context?.http?.sourceIp ?? context?.identity?.sourceIp;
  },
  bodyText: (c) => bindings(c).body,
  requestId: (c) => bindings(c).event.requestContext?.requestId,
};

/** Methods a web Request cannot carry; answered 405 without building one. */
const UNSUPPORTED_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const METHOD = /^[A-Z]{1,16}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII, space and tab, and obs-text; no CR, LF or NUL.
const HEADER_VALUE = /^[\t\x20-\x7E\x80-\xFF]*$/;

/** A request the adapter refuses before the app: status and the sentence that says why. */
export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

export type Translated =
  | { request: Request; bindings: LambdaBindings }
  | { refusal: Refusal; event: ApiGatewayEvent | undefined; method: string; path: string };

function isEvent(value: unknown): value is ApiGatewayEvent {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function methodOf(event: ApiGatewayEvent): string | undefined {
  const method = event.requestContext?.http?.method ?? event.httpMethod;
  return typeof method === "string" ? method.toUpperCase() : undefined;
}

function rawPathOf(event: ApiGatewayEvent): string | undefined {
  const path = event.rawPath ?? event.requestContext?.http?.path ?? event.path;
  return typeof path === "string" && path.startsWith("/") ? path : undefined;
}

function queryOf(event: ApiGatewayEvent): string {
  if (typeof event.rawQueryString === "string") return event.rawQueryString;
  const params = new URLSearchParams();
  for (const [k, values] of Object.entries(event.multiValueQueryStringParameters ?? {}))
    for (const v of values ?? []) params.append(k, v);
  if (params.size === 0)
    for (const [k, v] of Object.entries(event.queryStringParameters ?? {}))
      if (v !== undefined) params.append(k, v);
  return params.toString();
}

function headersOf(event: ApiGatewayEvent): Headers | Refusal {
  const headers = new Headers();
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value === undefined || value === null) continue;
    if (!HEADER_NAME.test(name) || typeof value !== "string" || !HEADER_VALUE.test(value)) {
      return {
        status: 400,
        message: `header ${name.replace(/[^\x21-\x7E]/g, "?").slice(0, 64)}: must not hold control characters (CR, LF, NUL)`,
      };
    }
    headers.append(name, value);
  }
  const cookies = cookiesOf(event.cookies);
  if (isRefusal(cookies)) return cookies;
  if (cookies) headers.set("cookie", cookies);
  return headers;
}

/** Payload 2.0's `cookies`: an array of `name=value` strings, or absent. Anything else is a 400. */
function cookiesOf(cookies: unknown): string | undefined | Refusal {
  if (cookies === undefined || cookies === null) return undefined;
  if (!Array.isArray(cookies) || !cookies.every((c) => typeof c === "string" && HEADER_VALUE.test(c))) {
    return { status: 400, message: "cookies: must be an array of strings without control characters" };
  }
  return cookies.length > 0 ? cookies.join("; ") : undefined;
}

function bodyOf(event: ApiGatewayEvent): string | undefined | Refusal {
  if (typeof event.body !== "string") return undefined;
  if (!event.isBase64Encoded) return event.body;
  const compact = event.body.replace(/\s+/g, "");
  if (compact.length % 4 === 1 || !BASE64.test(compact)) {
    return { status: 400, message: "body: isBase64Encoded is true but the body is not valid base64" };
  }
  return Buffer.from(compact, "base64").toString("utf8");
}

const isRefusal = (value: unknown): value is Refusal =>
  typeof value === "object" && value !== null && "status" in value && "message" in value;

/** The event as a web Request for the app, or the reason it cannot be one. */
export function translate(raw: unknown): Translated {
  const event = isEvent(raw) ? raw : undefined;
  const method = event ? methodOf(event) : undefined;
  const path = event ? rawPathOf(event) : undefined;
  const refuse = (refusal: Refusal): Translated => ({
    refusal,
    event,
    method: method ?? "UNKNOWN",
    path: path ?? "/",
  });
  if (!event || !method || !METHOD.test(method) || !path) {
    return refuse({
      status: 400,
      message: "event: not an API Gateway HTTP event (requestContext.http.method and rawPath are required)",
    });
  }
  if (UNSUPPORTED_METHODS.has(method)) {
    return refuse({
      status: 405,
      message: `${method} is not allowed`,
      headers: { allow: "GET, HEAD, POST, OPTIONS" },
    });
  }
  const headers = headersOf(event);
  if (isRefusal(headers)) return refuse(headers);
  const body = bodyOf(event);
  if (isRefusal(body)) return refuse(body);
  const query = queryOf(event);
  const host = (headers.get("host") ?? "lambda").replace(/[^A-Za-z0-9.:-]/g, "") || "lambda";
  let url: URL;
  try {
    url = new URL(`https://${host}${path}${query ? `?${query}` : ""}`);
  } catch {
    return refuse({ status: 400, message: "path: not a valid URL path" });
  }
  // Like the local server, a GET or HEAD carries no body to the app.
  const carries = body !== undefined && method !== "GET" && method !== "HEAD";
  const request = new Request(url, { method, headers, ...(carries ? { body } : {}) });
  return { request, bindings: { event, body: carries ? body : undefined } };
}

/** The app's answer as API Gateway wants it. */
export async function toResult(response: Response): Promise<ProxyResult> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const type = headers["content-type"] ?? "";
  const text = /^(?:text\/|application\/(?:json|javascript|xml)|image\/svg)/.test(type);
  if (text || response.body === null) {
    return { statusCode: response.status, headers, body: await response.text(), isBase64Encoded: false };
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  return { statusCode: response.status, headers, body: bytes.toString("base64"), isBase64Encoded: true };
}
