// STORE_TIMEOUT_MS from the environment to the answer, on the local server and the Lambda
// handler, against a Redis that accepts connections and never answers; and an outage under
// many waiting requests leaves only JSON lines in the output.

import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_HANDLERS } from "../../shared/http/app.ts";
import { createLambdaHandler } from "../../shared/runtime/lambda.ts";
import { createRedisClient, createRedisStore } from "../../shared/stores/redis.ts";
import { apiGatewayEvent, lambdaContext } from "../support/apigw.ts";
import { runNode } from "../support/node-process.ts";
import { freePort } from "../support/redis-server.ts";
import { memoryLogger, testApp } from "../support/test-app.ts";

/** A TCP server that takes connections and bytes and answers nothing: a hung Redis. */
async function startSilentRedis(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("data", () => {});
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

let silent: Awaited<ReturnType<typeof startSilentRedis>>;
beforeAll(async () => {
  silent = await startSilentRedis();
});
afterAll(() => silent.close());

const SHORT = 300;
const LONG = 3000;

async function timed(request: () => Promise<{ status: number; body: string }>) {
  const started = performance.now();
  const answer = await request();
  return { ...answer, ms: performance.now() - started };
}

describe("STORE_TIMEOUT_MS, end to end", () => {
  it("bounds the local server's 503 (configuration, createStore, the client)", async () => {
    const served = async (timeoutMs: number) => {
      const port = await freePort();
      const server = await runNode(
        ["shared/runtime/server.ts"],
        { HOST: "127.0.0.1", PORT: String(port), REDIS_URL: silent.url, STORE_TIMEOUT_MS: String(timeoutMs) },
        "highpress listening",
      );
      try {
        return await timed(async () => {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/counter/a/view`);
          return { status: res.status, body: await res.text() };
        });
      } finally {
        server.process.kill("SIGTERM");
        await server.exited;
      }
    };
    const short = await served(SHORT);
    const long = await served(LONG);
    expect(short.status).toBe(503);
    expect(long.status).toBe(503);
    // Measured side by side: the deadline is the setting's, not a constant of the code.
    expect(short.ms * 3).toBeLessThan(long.ms);
  }, 30_000);

  it("bounds the Lambda handler's 503 the same way", async () => {
    const invoked = async (timeoutMs: number) => {
      const handler = createLambdaHandler("GetFunction", ALL_HANDLERS, {
        env: { REDIS_URL: silent.url, STORE_TIMEOUT_MS: String(timeoutMs) },
        logger: memoryLogger(),
        emit: () => {},
      });
      await handler.warm;
      return timed(async () => {
        const event = apiGatewayEvent({ method: "GET", path: "/api/v1/counter/a/view" });
        const result = await handler(event, lambdaContext());
        return { status: result.statusCode, body: result.body };
      });
    };
    const short = await invoked(SHORT);
    const long = await invoked(LONG);
    expect(short.status).toBe(503);
    expect(long.status).toBe(503);
    expect(JSON.parse(short.body)).toMatchObject({ code: 503, error: "Service Unavailable" });
    expect(short.ms * 3).toBeLessThan(long.ms);
  }, 30_000);
});

describe("an outage under load", () => {
  it("makes every waiting request share one wait for the connection: no listener leak", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    const client = createRedisClient(`redis://127.0.0.1:${await freePort()}`, false, SHORT);
    client.on("error", () => {});
    try {
      const t = testApp(createRedisStore(client, { keyPrefix: "outage", timeoutMs: SHORT }));
      const waiting = Array.from({ length: 40 }, (_, i) => t.get(`/api/v1/counter/r${i}/view`));
      await new Promise((r) => setTimeout(r, 50));
      expect(client.listenerCount("ready")).toBeLessThanOrEqual(1);
      const answers = await Promise.all(waiting);
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 503));
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      client.disconnect();
    }
  });

  it("leaves only JSON lines on the server's stdout and stderr", async () => {
    const port = await freePort();
    const server = await runNode(
      ["shared/runtime/server.ts"],
      {
        HOST: "127.0.0.1",
        PORT: String(port),
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        STORE_TIMEOUT_MS: String(SHORT),
      },
      "highpress listening",
    );
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          fetch(`http://127.0.0.1:${port}/api/v1/counter/increment`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ resource_id: `r${i}`, counter_type: "view", user_id: "u" }),
          }),
        ),
      );
      for (const res of answers) {
        expect(res.status).toBe(503);
        expect((await res.json()).may_have_applied).toBe(false);
      }
    } finally {
      server.process.kill("SIGTERM");
      await server.exited;
    }
    const lines = server
      .output()
      .split("\n")
      .filter((l) => l.trim() !== "");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(server.output()).not.toContain("MaxListenersExceededWarning");
  }, 30_000);
});
