// The local server as a user runs it: a child process started like `npm start`, configured
// only through the environment, on the memory store and on Redis over TLS (rediss://).

import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runNode } from "../support/node-process.ts";
import {
  freePort,
  makeTlsCertificate,
  type RedisServer,
  startRedis,
  type TlsFiles,
} from "../support/redis-server.ts";

interface Running {
  child: ChildProcess;
  base: string;
  stdout: () => string;
  exited: Promise<number | null>;
}

async function startServer(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const server = await runNode(
    ["shared/runtime/server.ts"],
    { HOST: "127.0.0.1", PORT: String(port), ...env },
    "highpress listening",
  );
  return {
    child: server.process,
    base: `http://127.0.0.1:${port}`,
    stdout: server.output,
    exited: server.exited,
  };
}

const post = (base: string, body: unknown) =>
  fetch(`${base}/api/v1/counter/increment`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("npm start with no configuration", () => {
  it("serves on the memory store, says writes are open, and stops cleanly on SIGTERM", async () => {
    const server = await startServer({});
    try {
      const health = (await (await fetch(`${server.base}/health`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ status: "ok", store: "memory" });
      const started = JSON.parse(
        server
          .stdout()
          .split("\n")
          .find((l) => l.includes("listening")) ?? "{}",
      );
      expect(started).toMatchObject({ store: "memory", writes: expect.stringContaining("OPEN") });
      expect((await post(server.base, { resource_id: "a", counter_type: "view", user_id: "u" })).status).toBe(
        200,
      );
    } finally {
      server.child.kill("SIGTERM");
    }
    expect(await server.exited).toBe(0);
    expect(server.stdout()).toContain("highpress draining");
    expect(server.stdout()).toContain("highpress stopped");
  });
});

describe("a bad configuration", () => {
  it("stops start-up with one message naming the variables", async () => {
    const server = await runNode(["shared/runtime/server.ts"], {
      PORT: "not-a-port",
      COUNTER_STORE: "redis",
    });
    const code = await server.exited;
    // Everything it printed, stdout and stderr together: one line.
    const err = server.output();
    expect(code).toBe(1);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).toContain("PORT");
    expect(err).toContain("REDIS_URL");
  });
});

describe("Redis over TLS (rediss://)", () => {
  let tls: TlsFiles;
  let redis: RedisServer;
  beforeAll(async () => {
    tls = makeTlsCertificate();
    redis = await startRedis([], tls);
  }, 30_000);
  afterAll(() => redis?.stop());

  it("counts through a TLS-only redis-server and shuts down cleanly on SIGINT", async () => {
    expect(redis.url.startsWith("rediss://")).toBe(true);
    const server = await startServer({
      REDIS_URL: redis.url,
      // The test certificate is self-signed; a real ElastiCache certificate needs no extra CA.
      NODE_EXTRA_CA_CERTS: tls.certFile,
      KEY_PREFIX: "e2e",
      API_KEYS: "e2e-key-0123456789",
    });
    try {
      expect(
        JSON.parse(
          server
            .stdout()
            .split("\n")
            .find((l) => l.includes("listening")) ?? "{}",
        ),
      ).toMatchObject({
        store: "redis",
        writes: "require an API key",
      });
      const body = { resource_id: "tls-1", counter_type: "view", user_id: "u" };
      const write = () =>
        fetch(`${server.base}/api/v1/counter/increment`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": "e2e-key-0123456789" },
          body: JSON.stringify(body),
        });
      expect((await post(server.base, body)).status).toBe(401);
      expect((await write()).status).toBe(200);
      expect((await write()).status).toBe(200);
      const read = (await (await fetch(`${server.base}/api/v1/counter/tls-1/view`)).json()) as {
        data: { count: number };
      };
      expect(read.data.count).toBe(2);
      const deep = (await (await fetch(`${server.base}/health?deep=1`)).json()) as Record<string, unknown>;
      expect(deep).toMatchObject({ status: "ok", store: "redis" });
    } finally {
      server.child.kill("SIGINT");
    }
    expect(await server.exited).toBe(0);
  }, 30_000);
});

describe("X-Forwarded-For on the local server", () => {
  it("does not make a new client: two requests from one socket address with different XFF are 200 then 429", async () => {
    const server = await startServer({ RATE_LIMIT_IP: "1/60" });
    try {
      const read = (xff: string) =>
        fetch(`${server.base}/api/v1/counter/xff/view`, { headers: { "x-forwarded-for": xff } });
      expect((await read("192.0.2.1")).status).toBe(200);
      const second = await read("192.0.2.2");
      expect(second.status).toBe(429);
      expect(await second.json()).toMatchObject({ details: [{ path: "ip" }] });
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });
});

describe("REQUEST_LOG=emf (what the container target sets)", () => {
  it("writes each request's line with its CloudWatch metrics, as the functions do", async () => {
    const s = await startServer({ REQUEST_LOG: "emf" });
    try {
      expect((await post(s.base, { resource_id: "emf_1", counter_type: "view", user_id: "u" })).status).toBe(
        200,
      );
      let line: Record<string, unknown> | undefined;
      for (let i = 0; i < 50 && !line; i++) {
        line = s
          .stdout()
          .split("\n")
          .filter((l) => l.includes('"_aws"'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.route === "/api/v1/counter/increment");
        if (!line) await new Promise((r) => setTimeout(r, 20));
      }
      expect(line).toMatchObject({
        msg: "request",
        Function: "Service",
        Route: "/api/v1/counter/increment",
        Requests: 1,
        Errors: 0,
        status: 200,
      });
      const aws = line?._aws as { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] };
      const metrics = aws.CloudWatchMetrics[0];
      expect(metrics?.Namespace).toBe("HighPress");
      expect(metrics?.Metrics.map((m) => m.Name)).toEqual(["Requests", "Errors", "Latency", "StoreLatency"]);
    } finally {
      s.child.kill("SIGTERM");
      await s.exited;
    }
  });
});
