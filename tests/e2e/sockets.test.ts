// The local server over real sockets, as clients misbehave: a huge Content-Length, a body
// dribbled too slowly, a client that drops mid-body or half-closes, and a port already taken.

import { connect, createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeProcess, runNode } from "../support/node-process.ts";
import { freePort } from "../support/redis-server.ts";

let server: NodeProcess;
let port: number;

beforeAll(async () => {
  port = await freePort();
  server = await runNode(
    ["shared/runtime/server.ts"],
    { HOST: "127.0.0.1", PORT: String(port), REQUEST_TIMEOUT_MS: "1500" },
    "highpress listening",
  );
}, 30_000);
afterAll(() => {
  server.process.kill("SIGTERM");
});

/** Opens a socket, writes `head`, and collects what comes back until the server closes or `waitMs` passes. */
function exchange(head: string, waitMs: number, after?: (socket: Socket) => void) {
  return new Promise<{ text: string; closed: boolean; elapsedMs: number }>((resolve) => {
    const started = Date.now();
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let closed = false;
    socket.on("data", (chunk) => {
      text += String(chunk);
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      resolve({ text, closed, elapsedMs: Date.now() - started });
    });
    socket.write(head, () => after?.(socket));
    setTimeout(() => {
      socket.destroy();
      if (!closed) resolve({ text, closed, elapsedMs: Date.now() - started });
    }, waitMs);
  });
}

const POST_HEAD = (length: number) =>
  `POST /api/v1/counter/increment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

const metricsText = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

describe("the local server over sockets", () => {
  it("refuses Content-Length: 100000000 with 413 before reading the body", async () => {
    const { text } = await exchange(`${POST_HEAD(100_000_000)}{"resource_id"`, 1000);
    // The answer came while the body was still 99,999,986 bytes short.
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toContain('"code":413');
  });

  it("refuses a huge Content-Length on a route that reads no body (GET /health) without reading it", async () => {
    const head = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000000000\r\n\r\n";
    const { text, closed } = await exchange(`${head}xxxx`, 2000);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text.toLowerCase()).toContain("connection: close");
    expect(text).toContain('"message":"body: must be at most 65536 bytes"');
    // The server closed the connection rather than wait for (and throw away) 2 GB.
    expect(closed).toBe(true);
  });

  it("cuts off a body dribbled slower than REQUEST_TIMEOUT_MS with 408 or a closed socket", async () => {
    const body = JSON.stringify({ resource_id: "slow", counter_type: "view", user_id: "u1" });
    const { text, closed } = await exchange(`${POST_HEAD(body.length)}${body.slice(0, 5)}`, 8000);
    expect(closed).toBe(true);
    if (text) expect(text).toMatch(/^HTTP\/1\.1 408 /);
    const count = await (await fetch(`http://127.0.0.1:${port}/api/v1/counter/slow/view`)).json();
    expect(count).toMatchObject({ data: { count: 0 } });
  }, 15_000);

  it("records a client that drops mid-body as 499, not a server error, and logs no error", async () => {
    const before = await metricsText();
    const body = JSON.stringify({ resource_id: "dropped", counter_type: "view", user_id: "u1" });
    await exchange(`${POST_HEAD(body.length)}${body.slice(0, 10)}`, 300);
    await new Promise((r) => setTimeout(r, 500));
    const after = await metricsText();
    const fiveHundreds = (m: string) =>
      m.split("\n").filter((l) => /^highpress_requests_total\{.*status="5\d\d"/.test(l));
    expect(fiveHundreds(after)).toEqual(fiveHundreds(before));
    const closedByClient = (m: string) =>
      Number(
        m.match(
          /highpress_requests_total\{[^}]*route="\/api\/v1\/counter\/increment"[^}]*status="499"\} (\d+)/,
        )?.[1] ?? 0,
      );
    expect(closedByClient(after)).toBe(closedByClient(before) + 1);
    const errors = server
      .output()
      .split("\n")
      .filter((l) => l.includes('"level":"error"'));
    expect(errors).toEqual([]);
  });

  it("answers a client that half-closes after a complete request", async () => {
    const body = JSON.stringify({ resource_id: "half", counter_type: "view", user_id: "u1" });
    const { text } = await exchange(`${POST_HEAD(body.length)}${body}`, 3000, (socket) => socket.end());
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain('"count":1');
  });
});

describe("a port already in use", () => {
  it("stops npm start with one line and exit code 1", async () => {
    const taken = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => taken.once("listening", r));
    const busy = (taken.address() as { port: number }).port;
    try {
      const second = await runNode(["shared/runtime/server.ts"], { HOST: "127.0.0.1", PORT: String(busy) });
      expect(await second.exited).toBe(1);
      const lines = second
        .output()
        .split("\n")
        .filter((l) => l.startsWith("highpress:") || l.includes(" at "));
      expect(lines).toEqual([
        expect.stringMatching(new RegExp(`^highpress: port ${busy} is already in use`)),
      ]);
    } finally {
      taken.close();
    }
  }, 30_000);
});
