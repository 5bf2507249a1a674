// What a Lambda function answers to any event, however malformed, and to another function's
// route: always the JSON envelope with the API's headers, a request id and a metrics line.
// Memory store (the functions are built from source, like the local tries).

import { beforeAll, describe, expect, it } from "vitest";
import { ALL_HANDLERS } from "../../shared/http/app.ts";
import { createLambdaHandler, type LambdaHandler } from "../../shared/runtime/lambda.ts";
import { apiGatewayEvent } from "../support/apigw.ts";
import { memoryLogger } from "../support/test-app.ts";

const emitted: string[] = [];
let get: LambdaHandler;
let increment: LambdaHandler;

beforeAll(async () => {
  const env = { COUNTER_STORE: "memory" };
  const options = { env, logger: memoryLogger(), emit: (line: string) => emitted.push(line) };
  get = createLambdaHandler("GetFunction", ALL_HANDLERS, options);
  increment = createLambdaHandler("IncrementFunction", ALL_HANDLERS, options);
  await Promise.all([get.warm, increment.warm]);
});

const incrementBody = { resource_id: "a1", counter_type: "view", user_id: "u1", increment: 1 };

/** Invokes, and checks what every answer carries: JSON envelope, security headers, request id, one EMF line. */
async function answered(handler: LambdaHandler, event: unknown) {
  const before = emitted.length;
  const result = await handler(event);
  const body = JSON.parse(result.body) as Record<string, unknown>;
  expect(result.headers["content-type"]).toBe("application/json");
  expect(result.headers["x-content-type-options"]).toBe("nosniff");
  expect(result.headers["strict-transport-security"]).toBeDefined();
  expect(result.headers["x-request-id"]).toMatch(/^\S+$/);
  expect(emitted.length).toBe(before + 1);
  const line = JSON.parse(emitted[emitted.length - 1] as string) as Record<string, unknown>;
  expect(line.status).toBe(result.statusCode);
  expect(line.request_id).toBe(result.headers["x-request-id"]);
  return { status: result.statusCode, body, headers: result.headers };
}

describe("a Lambda function serves only its own routes", () => {
  it("GetFunction (the catch-all) does not apply an increment sent with a trailing slash", async () => {
    const event = apiGatewayEvent({
      method: "POST",
      path: "/api/v1/counter/increment/",
      body: incrementBody,
    });
    const { status, body } = await answered(get, event);
    expect(status).toBe(404);
    expect(body).toMatchObject({ code: 404, error: "Not Found" });
    // Nothing was counted: the increment function reads 0.
    const read = await answered(get, apiGatewayEvent({ method: "GET", path: "/api/v1/counter/a1/view" }));
    expect(read.body).toMatchObject({ data: { count: 0 } });
  });

  it("IncrementFunction does not serve reads", async () => {
    const { status } = await answered(increment, apiGatewayEvent({ method: "GET", path: "/health" }));
    expect(status).toBe(404);
  });

  it("a wrong method on a known path is a 405 with Allow, from any function", async () => {
    const event = apiGatewayEvent({ method: "DELETE", path: "/api/v1/counter/increment" });
    const { status, headers } = await answered(get, event);
    expect(status).toBe(405);
    expect(headers.allow).toBe("POST");
  });
});

describe("every event gets a JSON envelope, never a throw", () => {
  const valid = () => apiGatewayEvent({ method: "GET", path: "/health" }) as Record<string, unknown>;
  const cases: [string, () => unknown, number][] = [
    ["null", () => null, 400],
    ["a string", () => "GET /health", 400],
    ["an empty object", () => ({}), 400],
    ["no requestContext", () => ({ ...valid(), requestContext: undefined, rawPath: undefined }), 400],
    [
      "no requestContext.http",
      () => ({ ...valid(), requestContext: { requestId: "r-1" }, rawPath: undefined }),
      400,
    ],
    ["TRACE", () => apiGatewayEvent({ method: "TRACE" as "GET", path: "/health" }), 405],
    ["CONNECT", () => apiGatewayEvent({ method: "CONNECT" as "GET", path: "/health" }), 405],
    [
      "a header value with CR/LF",
      () =>
        apiGatewayEvent({ method: "GET", path: "/health", headers: { "x-evil": "a\r\nset-cookie: x=1" } }),
      400,
    ],
  ];
  it.each(cases)("%s", async (_name, event, status) => {
    const { status: got, body } = await answered(get, event());
    expect(got).toBe(status);
    expect(body).toMatchObject({ code: status });
    expect(typeof body.message).toBe("string");
  });

  it.each<[string, unknown]>([
    ["a string", "a=1"],
    ["an object", { a: "1" }],
    ["an array with a number", ["a=1", 2]],
    ["a cookie with a line break", ["a=1\r\nx-injected: 1"]],
  ])("cookies as %s is a 400 naming cookies, not a 500", async (_name, cookies) => {
    const event = { ...apiGatewayEvent({ method: "GET", path: "/health" }), cookies };
    const { status, body } = await answered(get, event);
    expect(status).toBe(400);
    expect(String(body.message)).toMatch(/^cookies: must be an array of strings/);
  });

  it("cookies as an array of strings reach the app as one Cookie header", async () => {
    const event = { ...apiGatewayEvent({ method: "GET", path: "/health" }), cookies: ["a=1", "b=2"] };
    expect((await answered(get, event)).status).toBe(200);
  });

  it("isBase64Encoded with invalid base64 is a 400 naming the body", async () => {
    const event = apiGatewayEvent({
      method: "POST",
      path: "/api/v1/counter/increment",
      body: "%%%not base64%%%",
    });
    const { status, body } = await answered(increment, { ...event, isBase64Encoded: true });
    expect(status).toBe(400);
    expect(String(body.message)).toMatch(/^body: .*base64/);
  });

  it("valid base64 is decoded and applied", async () => {
    const text = JSON.stringify({ ...incrementBody, resource_id: "b64" });
    const event = apiGatewayEvent({ method: "POST", path: "/api/v1/counter/increment", body: text });
    const { status, body } = await answered(increment, {
      ...event,
      body: Buffer.from(text).toString("base64"),
      isBase64Encoded: true,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ data: { resource_id: "b64", count: 1 } });
  });

  it("a GET with a body is answered like the local server answers it: the body is ignored", async () => {
    const event = apiGatewayEvent({ method: "GET", path: "/health", body: "{not json" });
    const { status, body } = await answered(get, event);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: "ok" });
  });
});

/** A REST API (payload 1.0) event on a stage, as API Gateway sends it: the stage is in requestContext.path only. */
function restEvent(
  path: string,
  sourceIp: string,
  query: Record<string, string[]> = {},
  xff = "203.0.113.50",
) {
  return {
    version: "1.0",
    resource: "/api/v1/counter/{resource_id}/{counter_type}",
    path,
    httpMethod: "GET",
    headers: { host: "abc123.execute-api.eu-west-1.amazonaws.com", "x-forwarded-for": xff },
    multiValueHeaders: { host: ["abc123.execute-api.eu-west-1.amazonaws.com"], "x-forwarded-for": [xff] },
    // Only the multi-value form: the adapter must read it.
    queryStringParameters: null,
    multiValueQueryStringParameters: query,
    pathParameters: null,
    requestContext: {
      path: `/prod${path}`,
      stage: "prod",
      httpMethod: "GET",
      requestId: "rest-1",
      identity: { sourceIp },
    },
    body: null,
    isBase64Encoded: false,
  };
}

describe("REST API (payload 1.0) events with a stage", () => {
  it("are served at their path, not the stage's, with the query from multiValueQueryStringParameters", async () => {
    // `member` appears only when user_id was read: the query came from multiValueQueryStringParameters.
    const { status, body } = await answered(
      get,
      restEvent("/api/v1/counter/rest1/like", "198.51.100.20", { user_id: ["u7"] }),
    );
    expect(status).toBe(200);
    expect(body).toMatchObject({ data: { resource_id: "rest1", count: 0, member: false } });
  });

  it("are limited per identity.sourceIp, whatever X-Forwarded-For says", async () => {
    const limited = createLambdaHandler("GetFunction", ALL_HANDLERS, {
      env: { COUNTER_STORE: "memory", RATE_LIMIT_IP: "1/60" },
      logger: memoryLogger(),
      emit: () => {},
    });
    await limited.warm;
    const read = (ip: string, xff: string) => limited(restEvent("/api/v1/counter/rest2/view", ip, {}, xff));
    expect((await read("198.51.100.30", "10.0.0.1")).statusCode).toBe(200);
    expect((await read("198.51.100.30", "10.0.0.2")).statusCode).toBe(429);
    expect((await read("198.51.100.31", "10.0.0.1")).statusCode).toBe(200);
  });
});

describe("X-Forwarded-For on Lambda (payload 2.0)", () => {
  it("does not make a new client: two requests from one sourceIp with different XFF are 200 then 429", async () => {
    const limited = createLambdaHandler("GetFunction", ALL_HANDLERS, {
      env: { COUNTER_STORE: "memory", RATE_LIMIT_IP: "1/60" },
      logger: memoryLogger(),
      emit: () => {},
    });
    await limited.warm;
    const read = (xff: string) => {
      const event = apiGatewayEvent({
        method: "GET",
        path: "/api/v1/counter/xff/view",
        headers: { "x-forwarded-for": xff },
      });
      return limited(event);
    };
    expect((await read("192.0.2.1")).statusCode).toBe(200);
    expect((await read("192.0.2.2")).statusCode).toBe(429);
  });
});
