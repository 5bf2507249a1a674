// `npm run start-lambda` driven by the AWS SDK's own Lambda client, as a `sam local
// start-lambda` user would; then the invoke CLI through it and the smoke test against a
// local server and it. Everything runs on a real Redis.

import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpChecks } from "../../infra/tools/lambda/smoke.ts";
import { createInvokeServer } from "../../infra/tools/lambda/start-lambda.ts";
import { encodeEvents } from "../../shared/domain/events.ts";
import { LAMBDA_ROUTES } from "../../shared/http/routes.ts";
import { apiGatewayEvent } from "../support/apigw.ts";
import { randomPrefix } from "../support/backends.ts";
import { type NodeProcess, runNode } from "../support/node-process.ts";
import { freePort, type RedisServer, startRedis } from "../support/redis-server.ts";

type Child = NodeProcess;

/** The project's tools as a user runs them, quiet unless they fail. */
const run = (args: string[], env: Record<string, string>, ready?: string) =>
  runNode(args, { LOG_LEVEL: "error", ...env }, ready);

let redis: RedisServer;
let lambdaHost: Child;
let endpoint: string;
let client: LambdaClient;
let storeEnv: Record<string, string>;

beforeAll(async () => {
  redis = await startRedis();
  storeEnv = { REDIS_URL: redis.url, KEY_PREFIX: randomPrefix() };
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  lambdaHost = await run(
    ["infra/tools/lambda/start-lambda.ts"],
    { ...storeEnv, LAMBDA_PORT: String(port) },
    "lambda invoke api listening",
  );
  client = new LambdaClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
}, 60_000);
afterAll(async () => {
  lambdaHost?.process.kill("SIGTERM");
  await lambdaHost?.exited;
  client?.destroy();
  await redis?.stop();
});

const invoke = async (name: string, payload: unknown, type?: "Event" | "DryRun") => {
  const out = await client.send(
    new InvokeCommand({
      FunctionName: name,
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
      ...(type ? { InvocationType: type } : {}),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : "";
  // biome-ignore lint/suspicious/noExplicitAny: payloads are asserted on field by field.
  return { out, payload: text ? (JSON.parse(text) as Record<string, any>) : undefined };
};

describe("start-lambda with the AWS SDK's Lambda client", () => {
  it("counts what EventsFunction accepts (no EVENTS_QUEUE_URL: the events wait in the store, and it applies them)", async () => {
    const body = {
      events: [1, 2].map((n) => ({
        resource_id: "sl_queued",
        counter_type: "view",
        user_id: `u${n}`,
        event_id: `sl-q-${n}`,
      })),
    };
    const accepted = await invoke(
      "EventsFunction",
      apiGatewayEvent({ method: "POST", path: "/api/v1/counter/events", body }),
    );
    expect(accepted.payload?.statusCode).toBe(202);
    const deadline = Date.now() + 10_000;
    let count = 0;
    while (count !== 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      const read = await invoke(
        "GetFunction",
        apiGatewayEvent({ method: "GET", path: "/api/v1/counter/sl_queued/view" }),
      );
      count = JSON.parse(read.payload?.body).data.count;
    }
    expect(count).toBe(2);
  });

  it("invokes each function with API Gateway v2 events", async () => {
    const body = { resource_id: "sl_1", counter_type: "view", user_id: "u", increment: 3 };
    const inc = await invoke(
      "IncrementFunction",
      apiGatewayEvent({ method: "POST", path: "/api/v1/counter/increment", body }),
    );
    expect(inc.out.StatusCode).toBe(200);
    expect(inc.out.ExecutedVersion).toBe("$LATEST");
    expect(JSON.parse(inc.payload?.body).data.count).toBe(3);
    const get = await invoke(
      "GetFunction",
      apiGatewayEvent({ method: "GET", path: "/api/v1/counter/sl_1/view" }),
    );
    expect(JSON.parse(get.payload?.body).data).toMatchObject({ count: 3, unique_users: 1 });
    const batch = await invoke(
      "arn:aws:lambda:us-east-1:123456789012:function:BatchFunction",
      apiGatewayEvent({
        method: "POST",
        path: "/api/v1/counter/batch",
        body: { queries: [{ resource_id: "sl_1", counter_type: "view" }] },
      }),
    );
    expect(JSON.parse(batch.payload?.body).data).toEqual([
      { resource_id: "sl_1", counter_type: "view", count: 3 },
    ]);
  });

  it("serves the events consumer, driven with an SQS event: queued events counted once", async () => {
    const events = [1, 2].map((n) => ({
      eventId: `sl-ev-${n}`,
      resourceId: "sl_q",
      type: "view",
      kind: "total" as const,
      userId: `u${n}`,
      delta: 1,
    }));
    const record = (id: string) => ({
      messageId: id,
      body: encodeEvents(events, Date.now()),
      eventSource: "aws:sqs",
    });
    const consumed = await invoke("ConsumerFunction", { Records: [record("m1"), record("m2")] });
    expect(consumed.payload).toEqual({ batchItemFailures: [] });
    const get = await invoke(
      "GetFunction",
      apiGatewayEvent({ method: "GET", path: "/api/v1/counter/sl_q/view" }),
    );
    expect(JSON.parse(get.payload?.body).data.count).toBe(2);
  });

  it("answers an unknown function with ResourceNotFoundException, as AWS does", async () => {
    const failure = await invoke("NoSuchFunction", {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).name).toBe("ResourceNotFoundException");
    expect((failure as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(404);
    expect((failure as Error).message).toContain("NoSuchFunction");
  });

  it("answers a null event with the JSON envelope, not a thrown error", async () => {
    // The functions no longer throw on a malformed event (they once did, with a TypeError
    // that came back as X-Amz-Function-Error: Unhandled).
    const answered = await invoke("GetFunction", null);
    expect(answered.out.StatusCode).toBe(200);
    expect(answered.out.FunctionError).toBeUndefined();
    expect(answered.payload).toMatchObject({ statusCode: 400 });
    expect(JSON.parse(String(answered.payload?.body))).toMatchObject({
      code: 400,
      error: "Invalid request format",
    });
  });

  it("returns an error thrown by a function with X-Amz-Function-Error and the error payload", async () => {
    // HighPress's own functions answer every event; a function that throws (a broken build,
    // a future bug) is hosted here in-process to exercise start-lambda's Unhandled path.
    const server = createInvokeServer(
      new Map([
        [
          "GetFunction",
          async () => {
            throw new TypeError("Cannot read properties of null");
          },
        ],
      ]),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const local = new LambdaClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    try {
      const out = await local.send(
        new InvokeCommand({ FunctionName: "GetFunction", Payload: new TextEncoder().encode("{}") }),
      );
      expect(out.StatusCode).toBe(200);
      expect(out.FunctionError).toBe("Unhandled");
      const payload = JSON.parse(new TextDecoder().decode(out.Payload)) as Record<string, unknown>;
      expect(payload).toMatchObject({
        errorType: "TypeError",
        errorMessage: expect.stringContaining("null"),
      });
      expect(Array.isArray(payload.trace)).toBe(true);
    } finally {
      local.destroy();
      server.close();
    }
  });

  it("accepts Event and DryRun invocations", async () => {
    const event = await invoke(
      "IncrementFunction",
      apiGatewayEvent({
        method: "POST",
        path: "/api/v1/counter/increment",
        body: { resource_id: "sl_async", counter_type: "view", user_id: "u" },
      }),
      "Event",
    );
    expect(event.out.StatusCode).toBe(202);
    const dry = await invoke("IncrementFunction", {}, "DryRun");
    expect(dry.out.StatusCode).toBe(204);
    const deadline = Date.now() + 5_000;
    let count = 0;
    while (count !== 1 && Date.now() < deadline) {
      const read = await invoke(
        "GetFunction",
        apiGatewayEvent({ method: "GET", path: "/api/v1/counter/sl_async/view" }),
      );
      count = JSON.parse(read.payload?.body).data.count;
    }
    expect(count).toBe(1);
  });
});

const SMOKE_ADMIN_KEY = "smoke-admin-key-0123456789";

describe("the AWS CLI recipe of docs/deploy.md", () => {
  it("works as written (AWS CLI v1 here; fileb:// works on v2 too) against start-lambda", () => {
    const doc = readFileSync("docs/deploy.md", "utf8");
    const at = doc.indexOf("<!-- aws-cli recipe");
    const start = doc.indexOf("```sh\n", at) + "```sh\n".length;
    const recipe = doc
      .slice(start, doc.indexOf("\n```", start))
      .replaceAll("http://127.0.0.1:3001", endpoint);
    expect(recipe).toContain("fileb://events/increment.json");
    const dir = mkdtempSync(join(tmpdir(), "hp-aws-cli-"));
    try {
      cpSync("events", join(dir, "events"), { recursive: true });
      // Only what a new user's shell has: no region, no credentials of ours.
      const run = spawnSync("bash", ["-c", recipe], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", HOME: dir },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(run.status, run.stderr).toBe(0);
      const answer = JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('{"statusCode"')));
      expect(answer.statusCode).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ success: true, data: { counter_type: "like" } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("the smoke test's checks", () => {
  it("cover every route of the route table, with an admin key", () => {
    const call = Object.assign(async () => ({ status: 0, headers: new Headers(), json: {} }), { base: "" });
    const covered = new Set(httpChecks(call, "smoke-x", {}, "an-admin-key").flatMap((c) => c.routes));
    expect(LAMBDA_ROUTES.map((r) => r.id).filter((id) => !covered.has(id))).toEqual([]);
  });
});

describe("the invoke and smoke tools against start-lambda", () => {
  it("npm run invoke -- <function> <event> --endpoint prints the function's answer", async () => {
    const child = await run(
      ["infra/tools/lambda/invoke.ts", "get", "events/health.json", "--endpoint", endpoint],
      {},
    );
    expect(await child.exited).toBe(0);
    const printed = JSON.parse(child.output().slice(child.output().indexOf("{"))) as {
      statusCode: number;
      body: string;
    };
    expect(printed.statusCode).toBe(200);
    expect(JSON.parse(printed.body)).toMatchObject({ status: "ok", store: "redis" });
    const missing = await run(
      ["infra/tools/lambda/invoke.ts", "Nope", "events/health.json", "--endpoint", endpoint],
      {},
    );
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toContain("ResourceNotFoundException");
  });

  it("npm run smoke passes every route of a local server and every function of start-lambda", async () => {
    const port = await freePort();
    const server = await run(
      ["shared/runtime/server.ts"],
      { ...storeEnv, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "info", ADMIN_KEYS: SMOKE_ADMIN_KEY },
      "highpress listening",
    );
    try {
      const api = ["infra/tools/lambda/smoke.ts", "--api-url", `http://127.0.0.1:${port}`];
      const smoke = await run([...api, "--invoke", "--endpoint", endpoint], {});
      expect(await smoke.exited, smoke.output()).toBe(0);
      expect(smoke.output()).toContain("smoke: 21 passed, 0 failed");
      expect(smoke.output()).toMatch(/POST events, counted by the consumer +\| pass/);
      expect(smoke.output()).toMatch(/invoke ConsumerFunction +\| pass/);
      expect(smoke.output()).toMatch(/admin routes refused without an admin key \| pass .*401/);
      const admin = await run([...api, "--admin-key", SMOKE_ADMIN_KEY], {});
      expect(await admin.exited, admin.output()).toBe(0);
      expect(admin.output()).toContain("smoke: 17 passed, 0 failed");
    } finally {
      server.process.kill("SIGTERM");
      await server.exited;
    }
  }, 30_000);

  it("npm run smoke fails, with the failing check named, when the API is wrong", async () => {
    const smoke = await run(["infra/tools/lambda/smoke.ts", "--api-url", endpoint], {});
    expect(await smoke.exited).toBe(1);
    expect(smoke.output()).toMatch(/GET \/health\s+\| FAIL/);
  });
});
