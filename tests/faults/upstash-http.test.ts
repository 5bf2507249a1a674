// The Upstash store's own HTTP requester (shared/stores/upstash-http.ts): what each failure
// says about a write, connections reused only while fresh, and no undici loaded at all.

import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../shared/domain/errors.ts";
import { createUpstashClient, createUpstashStore } from "../../shared/stores/upstash.ts";
import { nodeRequester } from "../../shared/stores/upstash-http.ts";
import { randomPrefix } from "../support/backends.ts";
import { runNode } from "../support/node-process.ts";
import { makeTlsCertificate, type RedisServer, startRedis } from "../support/redis-server.ts";
import { startUpstashEndpoint, type UpstashEndpoint } from "../support/upstash-endpoint.ts";

let server: RedisServer;
let endpoint: UpstashEndpoint;

beforeAll(async () => {
  server = await startRedis();
  endpoint = await startUpstashEndpoint(server.url);
}, 30_000);
afterAll(async () => {
  await endpoint.close();
  await server.stop();
});

const view = { resourceId: "r1", type: "view", kind: "total", userId: "u1", delta: 1 } as const;

/** A local HTTP server answering every request with `answer`, counting its connections. */
async function fakeUpstash(answer: (res: import("node:http").ServerResponse) => void) {
  const http: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => answer(res));
  });
  let connections = 0;
  http.on("connection", () => {
    connections++;
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

async function failureOf(url: string): Promise<StoreUnavailableError> {
  const store = createUpstashStore(createUpstashClient(url, "t", 1_000), {
    keyPrefix: randomPrefix(),
    timeoutMs: 1_000,
  });
  const error = await store.increment({ ...view, now: Date.now() }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreUnavailableError);
  return error as StoreUnavailableError;
}

describe("the Upstash requester", () => {
  it("an address nobody listens on: not sent, so not applied", async () => {
    const closed = await fakeUpstash(() => {});
    const url = closed.url;
    await closed.close();
    const error = await failureOf(url);
    expect(error.mayHaveApplied).toBe(false);
    expect(error.message).toContain("not sent");
  });

  it("an answer that is not Upstash's JSON (a proxy's error page) leaves the write in doubt, not refused", async () => {
    const proxy = await fakeUpstash((res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>Bad Gateway</html>");
    });
    try {
      const error = await failureOf(proxy.url);
      expect(error.mayHaveApplied).toBe(true);
      expect(error.message).toContain("may have been applied");
    } finally {
      await proxy.close();
    }
  });

  it("reuses a connection while it is fresh, and opens a new one once it idled past the limit", async () => {
    const ok = await fakeUpstash((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ result: "OK" }));
    });
    try {
      const client = new Redis(nodeRequester(ok.url, "t", 1_000, 100));
      const ping = () => client.set("k", "v");
      await ping();
      await ping();
      expect(ok.connections()).toBe(1);
      await new Promise((r) => setTimeout(r, 250));
      await ping();
      expect(ok.connections()).toBe(2);
    } finally {
      await ok.close();
    }
  });

  it("a process that counts through it never loads Node's fetch client (undici)", async () => {
    const code = `
      import { createUpstashClient, createUpstashStore } from "./shared/stores/upstash.ts";
      const store = createUpstashStore(createUpstashClient(${JSON.stringify(endpoint.url)}, ${JSON.stringify(endpoint.token)}, 2000), { keyPrefix: "undici", timeoutMs: 2000 });
      const { count } = await store.increment({ resourceId: "r", type: "view", kind: "total", userId: "u", delta: 1, now: Date.now() });
      console.log(JSON.stringify({ count, undici: process.moduleLoadList.filter((m) => m.includes("undici")) }));
      process.exit(0);`;
    const child = await runNode(["--input-type=module", "-e", code], {});
    expect(await child.exited).toBe(0);
    const printed = JSON.parse(child.output().trim().split("\n").pop() as string);
    expect(printed).toEqual({ count: 1, undici: [] });
  }, 30_000);

  it("speaks TLS to an https address (as Upstash is), one connection for several commands", async () => {
    const tls = makeTlsCertificate();
    let connections = 0;
    const secure = createTlsServer(
      { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
      (req, res) => {
        let body = "";
        req.on("data", (c) => {
          body += c;
        });
        req.on("end", () => {
          res.writeHead(200, { "content-type": "application/json" });
          // The command echoed back, base64 as Upstash answers with Upstash-Encoding: base64.
          res.end(
            JSON.stringify({
              result: Buffer.from(`${req.headers.authorization} ${body}`).toString("base64"),
            }),
          );
        });
      },
    );
    secure.on("secureConnection", () => {
      connections++;
    });
    await new Promise<void>((resolve) => secure.listen(0, "127.0.0.1", resolve));
    const url = `https://localhost:${(secure.address() as AddressInfo).port}`;
    try {
      const code = `
        import { Redis } from "@upstash/redis";
        import { nodeRequester } from "./shared/stores/upstash-http.ts";
        const client = new Redis(nodeRequester(${JSON.stringify(url)}, "tok", 2000));
        console.log(JSON.stringify([await client.get("a"), await client.get("b")]));
        process.exit(0);`;
      const child = await runNode(["--input-type=module", "-e", code], { NODE_EXTRA_CA_CERTS: tls.certFile });
      expect(await child.exited).toBe(0);
      expect(JSON.parse(child.output().trim().split("\n").pop() as string)).toEqual([
        'Bearer tok ["get","a"]',
        'Bearer tok ["get","b"]',
      ]);
      expect(connections).toBe(1);
    } finally {
      await new Promise<void>((resolve) => secure.close(() => resolve()));
    }
  }, 30_000);
});
