// `npm run smoke -- --api-url URL` (or --stack NAME): after a deploy, or against the local
// server, exercises every route over HTTP(S) and prints a pass/fail table; with --invoke,
// also each function through the Lambda Invoke API (--endpoint URL for start-lambda,
// otherwise the stack's functions). With --admin-key, also the admin routes (set, reset, erase
// the smoke user); without, it checks they are refused. Exits 1 if any check fails. Writes
// touch only a resource named smoke-<random>, on the view and like counters, and the user
// `smoke`.

import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { pathOf, type RouteId } from "../../../shared/http/routes.ts";
import { loadDotEnv } from "../../../shared/runtime/env-file.ts";
import type { FunctionId } from "../../bundling.ts";
import { invokeThroughApi, lambdaClient, stackApiUrl, stackFunctionName } from "./aws.ts";
import { sqsEvent } from "./sample-events.ts";

interface Check {
  name: string;
  /** The routes of the route table this check exercises. */
  routes: RouteId[];
  run: () => Promise<string>;
}

const USAGE = `usage: npm run smoke -- (--api-url URL | --stack NAME) [--api-key KEY] [--admin-key KEY] [--invoke [--endpoint URL]]`;

class CheckFailed extends Error {}

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field, and a missing field fails the check.
type Body = Record<string, any>;
function expect(condition: unknown, detail: string): asserts condition {
  if (!condition) throw new CheckFailed(detail);
}

type Call = ((
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<{ status: number; headers: Headers; json: Body }>) & { base: string };

/** With an admin key: set, reset and erase; without: the admin routes must refuse (404 or 401). */
function adminChecks(call: Call, resource: string, adminKey: string | undefined): Check[] {
  const erase = pathOf("eraseUser", { user_id: "smoke" });
  if (!adminKey) {
    return [
      {
        name: "admin routes refused without an admin key",
        routes: ["eraseUser"],
        run: async () => {
          const r = await call("DELETE", erase);
          expect(r.status === 404 || r.status === 401, `${r.status} ${JSON.stringify(r.json)}`);
          return r.status === 404 ? "404: no ADMIN_KEYS on the server" : "401: an admin key is required";
        },
      },
    ];
  }
  const auth = { authorization: `Bearer ${adminKey}` };
  const counter = { resource_id: resource, counter_type: "view" };
  return [
    {
      name: "PUT admin set counter",
      routes: ["setCounter"],
      run: async () => {
        const r = await call("PUT", pathOf("setCounter", counter), { count: 10 }, auth);
        expect(r.status === 200 && r.json.data?.count === 10, `${r.status} ${JSON.stringify(r.json)}`);
        return `${resource} view set to 10`;
      },
    },
    {
      name: "DELETE admin reset counter",
      routes: ["resetCounter"],
      run: async () => {
        const r = await call("DELETE", pathOf("resetCounter", counter), undefined, auth);
        expect(r.status === 200 && r.json.data?.count === 0, `${r.status} ${JSON.stringify(r.json)}`);
        return `${resource} view reset to 0`;
      },
    },
    {
      name: "DELETE admin erase user",
      routes: ["eraseUser"],
      run: async () => {
        const r = await call("DELETE", erase, undefined, auth);
        expect(
          r.status === 200 && typeof r.json.data?.removed === "number",
          `${r.status} ${JSON.stringify(r.json)}`,
        );
        return `smoke left ${r.json.data.removed} counters`;
      },
    },
  ];
}

/** Writes of single increments: the count after each, and a replayed retry. */
function incrementChecks(call: Call, resource: string, auth: Record<string, string>): Check[] {
  const increment = (extra: Record<string, string> = {}) =>
    call(
      "POST",
      pathOf("increment"),
      { resource_id: resource, counter_type: "view", user_id: "smoke", increment: 2 },
      { ...auth, ...extra },
    );

  return [
    {
      name: "POST increment",
      routes: ["increment"],
      run: async () => {
        const r = await increment();
        expect(r.status === 200 && r.json.data?.count === 2, `${r.status} ${JSON.stringify(r.json)}`);
        return `${resource} view = ${r.json.data.count}`;
      },
    },
    {
      name: "POST increment, Idempotency-Key retry",
      routes: ["increment"],
      run: async () => {
        const key = randomUUID();
        const first = await increment({ "idempotency-key": key });
        const retry = await increment({ "idempotency-key": key });
        expect(retry.headers.get("idempotent-replayed") === "true", "no Idempotent-Replayed header");
        expect(retry.json.data?.count === first.json.data?.count, "the retry was applied again");
        return `replayed count ${retry.json.data.count}`;
      },
    },
  ];
}

/** Reads of what the increments wrote: the counter, a batch, the ranking, the badge, the history. */
function readChecks(call: Call, resource: string): Check[] {
  return [
    {
      name: "GET counter",
      routes: ["getCounter"],
      run: async () => {
        const r = await call("GET", pathOf("getCounter", { resource_id: resource, counter_type: "view" }));
        expect(r.status === 200 && r.json.data?.count === 4, `${r.status} ${JSON.stringify(r.json)}`);
        return `count ${r.json.data.count}, unique_users ${r.json.data.unique_users}`;
      },
    },
    {
      name: "POST batch",
      routes: ["batch"],
      run: async () => {
        const r = await call("POST", pathOf("batch"), {
          queries: [
            { resource_id: resource, counter_type: "view" },
            { resource_id: resource, counter_type: "like" },
          ],
        });
        const counts = (r.json.data ?? []).map((d: { count: number }) => d.count);
        expect(r.status === 200 && counts.join() === "4,0", `${r.status} ${JSON.stringify(r.json)}`);
        return `counts ${counts.join(", ")}`;
      },
    },
    {
      name: "GET hot ranking",
      routes: ["hot"],
      run: async () => {
        const r = await call("GET", `${pathOf("hot", { counter_type: "view" })}?period=hour&limit=100`);
        expect(
          r.status === 200 && Array.isArray(r.json.data?.items),
          `${r.status} ${JSON.stringify(r.json)}`,
        );
        return `${r.json.data.items.length} items this hour`;
      },
    },
    {
      name: "GET badge.svg",
      routes: ["badge"],
      run: async () => {
        const path = pathOf("badge", { resource_id: resource, counter_type: "view" });
        const res = await fetch(`${call.base}${path}?label=smoke`, { signal: AbortSignal.timeout(10_000) });
        const svg = await res.text();
        const type = res.headers.get("content-type");
        expect(res.status === 200 && type === "image/svg+xml", `${res.status} ${type}`);
        expect(svg.includes(">smoke<") && svg.includes(">4<"), `badge shows: ${svg.slice(0, 80)}`);
        return `${svg.length} bytes of SVG`;
      },
    },
    ...historyChecks(call, resource),
  ];
}

/** Today's change holds what the increments wrote; the sparkline draws a point a day. */
function historyChecks(call: Call, resource: string): Check[] {
  const params = { resource_id: resource, counter_type: "view" };
  return [
    {
      name: "GET history",
      routes: ["history"],
      run: async () => {
        const r = await call("GET", `${pathOf("history", params)}?days=2`);
        const days = r.json.data?.days ?? [];
        expect(
          r.status === 200 && days.length === 2 && days[1]?.delta === 4,
          `${r.status} ${JSON.stringify(r.json)}`,
        );
        return `today ${days[1].date}: +${days[1].delta}`;
      },
    },
    {
      name: "GET history.svg",
      routes: ["historySvg"],
      run: async () => {
        const res = await fetch(`${call.base}${pathOf("historySvg", params)}?days=7`, {
          signal: AbortSignal.timeout(10_000),
        });
        const svg = await res.text();
        const points = /points="([^"]*)"/.exec(svg)?.[1]?.split(" ") ?? [];
        expect(res.status === 200 && points.length === 7, `${res.status} ${svg.slice(0, 80)}`);
        return `${points.length} days drawn`;
      },
    },
  ];
}

/** Health, and errors answered as JSON envelopes. */
function serviceChecks(call: Call, auth: Record<string, string>): { health: Check[]; errors: Check[] } {
  return {
    health: [
      {
        name: "GET /health",
        routes: ["health"],
        run: async () => {
          const r = await call("GET", pathOf("health"));
          expect(r.status === 200 && r.json.status === "ok", `${r.status} ${JSON.stringify(r.json)}`);
          return `store ${r.json.store}, version ${r.json.version}`;
        },
      },
      {
        name: "GET /health?deep=1",
        routes: ["health"],
        run: async () => {
          const r = await call("GET", `${pathOf("health")}?deep=1`);
          expect(r.status === 200, `${r.status} ${r.json.message ?? ""}`);
          return `store latency ${r.json.store_latency_ms} ms`;
        },
      },
    ],
    errors: [
      {
        name: "400 names the field",
        routes: ["increment"],
        run: async () => {
          const r = await call(
            "POST",
            pathOf("increment"),
            { resource_id: "a b", counter_type: "view", user_id: "u" },
            auth,
          );
          expect(
            r.status === 400 && r.json.details?.[0]?.path === "resource_id",
            `${r.status} ${JSON.stringify(r.json)}`,
          );
          return r.json.message;
        },
      },
      {
        name: "404 and 405 are JSON",
        routes: [],
        run: async () => {
          const missing = await call("GET", "/no-such-route");
          const wrong = await call("DELETE", pathOf("increment"));
          expect(missing.status === 404 && missing.json.code === 404, `404 check: ${missing.status}`);
          expect(wrong.status === 405 && wrong.json.code === 405, `405 check: ${wrong.status}`);
          return `Allow: ${wrong.headers.get("allow")}`;
        },
      },
    ],
  };
}

/** Every route over HTTP(S), the queued path end to end included. */
export function httpChecks(
  call: Call,
  resource: string,
  auth: Record<string, string>,
  adminKey: string | undefined,
): Check[] {
  const service = serviceChecks(call, auth);
  return [
    ...service.health,
    ...incrementChecks(call, resource, auth),
    ...readChecks(call, resource),
    ...writePathChecks(call, resource, auth),
    ...adminChecks(call, resource, adminKey),
    ...service.errors,
  ];
}

/** How long the queued path may take to count: the deployed consumer batches for up to 5 s. */
const QUEUED_DEADLINE_MS = 60_000;

/** Polls a count until it reaches `expected` or the deadline passes; answers the last count seen. */
async function countReaches(
  read: () => Promise<number>,
  expected: number,
): Promise<{ count: number; ms: number }> {
  const started = Date.now();
  let count = await read();
  while (count !== expected && Date.now() - started < QUEUED_DEADLINE_MS) {
    await new Promise((r) => setTimeout(r, 500));
    count = await read();
  }
  return { count, ms: Date.now() - started };
}

/** Batch increments, and queued events counted end to end (a retried POST counts nothing twice). */
function writePathChecks(call: Call, resource: string, auth: Record<string, string>): Check[] {
  const batched = `${resource}-b`;
  const queued = `${resource}-q`;
  const read = async (id: string) =>
    (await call("GET", pathOf("getCounter", { resource_id: id, counter_type: "view" }))).json.data?.count ??
    -1;
  return [
    {
      name: "POST increments",
      routes: ["incrementMany"],
      run: async () => {
        const item = { resource_id: batched, counter_type: "view", user_id: "smoke", increment: 1 };
        const r = await call("POST", pathOf("incrementMany"), { increments: [item, item, item] }, auth);
        const counts = (r.json.data ?? []).map((d: { count: number }) => d.count);
        expect(r.status === 200 && counts.join() === "1,2,3", `${r.status} ${JSON.stringify(r.json)}`);
        return `${batched} view = ${counts.join(", ")}`;
      },
    },
    {
      name: "POST events, counted by the consumer",
      routes: ["queueEvents"],
      run: async () => {
        const events = [1, 2, 3].map((n) => ({
          resource_id: queued,
          counter_type: "view",
          user_id: `smoke-${n}`,
          event_id: `${queued}-${n}`,
        }));
        for (let attempt = 0; attempt < 2; attempt++) {
          const r = await call("POST", pathOf("queueEvents"), { events }, auth);
          expect(r.status === 202 && r.json.data?.accepted === 3, `${r.status} ${JSON.stringify(r.json)}`);
        }
        const { count, ms } = await countReaches(() => read(queued), 3);
        expect(count === 3, `${queued} view is ${count} after ${ms} ms, not 3 (is the consumer running?)`);
        return `3 events posted twice, counted once in ${ms} ms`;
      },
    },
  ];
}

/** A minimal API Gateway v2 event, as the smoke test invokes the HTTP functions with. */
function apiEvent(auth: Record<string, string>, method: string, path: string, body?: unknown) {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: {
      host: "smoke.local",
      ...auth,
      ...(body ? { "content-type": "application/json" } : {}),
    } as Record<string, string>,
    requestContext: {
      http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "smoke" },
      stage: "$default",
    },
    isBase64Encoded: false,
    ...(body ? { body: JSON.stringify(body) } : {}),
  };
}

interface InvokeOptions {
  resource: string;
  auth: Record<string, string>;
  adminKey: string | undefined;
  functionName: (id: FunctionId) => string | Promise<string>;
}

/** The admin function: with an admin key it erases; without, it refuses (401) or has no route (404). */
function adminInvokeCheck(
  client: Awaited<ReturnType<typeof lambdaClient>>,
  options: InvokeOptions,
  event: (method: string, path: string) => ReturnType<typeof apiEvent>,
): Check {
  const nameOf = options.functionName;
  return {
    name: "invoke AdminFunction",
    routes: [],
    run: async () => {
      const request = event("DELETE", pathOf("eraseUser", { user_id: "smoke" }));
      if (options.adminKey) request.headers.authorization = `Bearer ${options.adminKey}`;
      const out = await invokeThroughApi(client, await nameOf("AdminFunction"), request);
      const status = (out.payload as { statusCode?: number } | undefined)?.statusCode ?? 0;
      // With an admin key the function must erase; without, refuse (401) or not have the route (404).
      const expected = options.adminKey ? [200] : [401, 404];
      expect(!out.functionError && expected.includes(status), `${out.functionError ?? ""} ${status}`);
      return `status ${status}`;
    },
  };
}

/** Each function through the Lambda Invoke API, the consumer with an SQS event of the project's encoder. */
export function invokeChecks(
  client: Awaited<ReturnType<typeof lambdaClient>>,
  options: InvokeOptions,
): Check[] {
  const { resource, auth } = options;
  const nameOf = options.functionName;
  const event = (method: string, path: string, body?: unknown) => apiEvent(auth, method, path, body);
  const invokeCheck = (
    id: FunctionId,
    method: string,
    path: string,
    body?: unknown,
    status = 200,
  ): Check => ({
    name: `invoke ${id}`,
    routes: [],
    run: async () => {
      const out = await invokeThroughApi(client, await nameOf(id), event(method, path, body));
      const payload = out.payload as { statusCode?: number } | undefined;
      expect(
        !out.functionError && payload?.statusCode === status,
        `${out.functionError ?? ""} ${JSON.stringify(payload)}`,
      );
      return `status ${payload?.statusCode}`;
    },
  });
  const consumed = `${resource}-c`;
  const readThroughGet = async (id: string): Promise<number> => {
    const read = await invokeThroughApi(
      client,
      await nameOf("GetFunction"),
      event("GET", pathOf("getCounter", { resource_id: id, counter_type: "view" })),
    );
    return JSON.parse((read.payload as { body?: string } | undefined)?.body ?? "{}").data?.count ?? -1;
  };
  return [
    invokeCheck("IncrementFunction", "POST", pathOf("increment"), {
      resource_id: resource,
      counter_type: "like",
      user_id: "smoke",
    }),
    invokeCheck("GetFunction", "GET", pathOf("health")),
    invokeCheck("BatchFunction", "POST", pathOf("batch"), {
      queries: [{ resource_id: resource, counter_type: "like" }],
    }),
    {
      name: "invoke EventsFunction, then counted",
      routes: [],
      run: async () => {
        const queued = `${resource}-e`;
        const body = {
          events: [{ resource_id: queued, counter_type: "view", user_id: "smoke", event_id: `${queued}-1` }],
        };
        const out = await invokeThroughApi(
          client,
          await nameOf("EventsFunction"),
          event("POST", pathOf("queueEvents"), body),
        );
        const status = (out.payload as { statusCode?: number } | undefined)?.statusCode;
        expect(
          !out.functionError && status === 202,
          `${out.functionError ?? ""} ${JSON.stringify(out.payload)}`,
        );
        const { count, ms } = await countReaches(() => readThroughGet(queued), 1);
        expect(count === 1, `${queued} view is ${count} after ${ms} ms: nothing consumed the queued event`);
        return `202, counted in ${ms} ms`;
      },
    },
    {
      name: "invoke ConsumerFunction",
      routes: [],
      run: async () => {
        const events = [1, 2].map((n) => ({
          resourceId: consumed,
          type: "view",
          kind: "total" as const,
          userId: "smoke",
          delta: 1,
          eventId: `${consumed}-${n}`,
        }));
        const sqs = sqsEvent(events, Date.now());
        const out = await invokeThroughApi(client, await nameOf("ConsumerFunction"), sqs);
        const failures = (out.payload as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures;
        expect(
          !out.functionError && failures?.length === 0,
          `${out.functionError ?? ""} ${JSON.stringify(out.payload)}`,
        );
        const count = await readThroughGet(consumed);
        expect(count === 2, `${consumed} view is ${count} after the consumer applied 2 events`);
        return "2 events applied";
      },
    },
    adminInvokeCheck(client, options, event),
  ];
}

async function main(): Promise<number> {
  loadDotEnv();
  const { values } = parseArgs({
    options: {
      "api-url": { type: "string" },
      stack: { type: "string" },
      "api-key": { type: "string" },
      "admin-key": { type: "string" },
      invoke: { type: "boolean" },
      endpoint: { type: "string" },
    },
  });
  if (!values["api-url"] && !values.stack) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const base = (values["api-url"] ?? (await stackApiUrl(values.stack as string))).replace(/\/$/, "");
  const resource = `smoke-${randomUUID().slice(0, 8)}`;
  const auth: Record<string, string> = values["api-key"]
    ? { authorization: `Bearer ${values["api-key"]}` }
    : {};
  const call = (async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let json: Body = {};
    try {
      json = JSON.parse(text) as Body;
    } catch {
      throw new CheckFailed(`${res.status}, not JSON: ${text.slice(0, 80)}`);
    }
    return { status: res.status, headers: res.headers, json };
  }) as Call;
  call.base = base;
  const checks = [
    ...httpChecks(call, resource, auth, values["admin-key"]),
    ...(values.invoke
      ? invokeChecks(await lambdaClient(values.endpoint), {
          resource,
          auth,
          adminKey: values["admin-key"],
          functionName: (id) => (values.stack && !values.endpoint ? stackFunctionName(values.stack, id) : id),
        })
      : []),
  ];
  const rows: string[][] = [];
  let failures = 0;
  for (const check of checks) {
    const started = performance.now();
    let status = "pass";
    let detail: string;
    try {
      detail = await check.run();
    } catch (error) {
      status = "FAIL";
      failures++;
      detail = error instanceof Error ? error.message : String(error);
    }
    rows.push([check.name, status, `${Math.round(performance.now() - started)}`, detail.slice(0, 90)]);
  }
  const header = ["check", "result", "ms", "detail"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  process.stdout.write(
    [`Smoke test of ${base}`, line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join(
      "\n",
    ),
  );
  process.stdout.write(`\nsmoke: ${checks.length - failures} passed, ${failures} failed\n`);
  return failures > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`)
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`smoke failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
