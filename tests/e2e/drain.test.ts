// The local server stopped under load, as a container's stop or a scale-in stops it: SIGTERM
// while increments and queued events are in flight over keep-alive connections. Every
// request that got an answer is counted exactly once, none got a 5xx, the answers sent while
// draining close their connections, the queued events still waiting are applied before the
// process goes, and it exits 0 within SHUTDOWN_TIMEOUT_MS.

import { Agent, request } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createRedisClient, createRedisStore } from "../../shared/stores/redis.ts";
import { runNode } from "../support/node-process.ts";
import { freePort, type RedisServer, startRedis } from "../support/redis-server.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(() => redis.stop());

interface Answer {
  status: number;
  afterSignal: boolean;
  accepted: number;
}

/** One POST over the keep-alive agent: its status and Connection header, or undefined when no answer came. */
function post(
  port: number,
  agent: Agent,
  path: string,
  body: unknown,
): Promise<Omit<Answer, "afterSignal"> | undefined> {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const req = request(
      {
        port,
        host: "127.0.0.1",
        path,
        method: "POST",
        agent,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk) => {
          text += String(chunk);
        });
        res.on("end", () => {
          const accepted = res.statusCode === 202 ? Number(JSON.parse(text).data.accepted) : 0;
          resolve({ status: res.statusCode ?? 0, accepted });
        });
      },
    );
    req.on("error", () => resolve(undefined));
    req.end(payload);
  });
}

/** An increment over a raw socket whose body's second half is sent when `finish` is called. */
function halfSentIncrement(port: number, userId: string) {
  const body = JSON.stringify({ resource_id: "drained", counter_type: "like", user_id: userId });
  const socket = connect(port, "127.0.0.1");
  let text = "";
  let closed = false;
  socket.on("data", (chunk) => {
    text += String(chunk);
  });
  const answer = new Promise<string>((resolve) =>
    socket.on("close", () => {
      closed = true;
      resolve(text);
    }),
  );
  const half = Math.floor(body.length / 2);
  socket.write(
    `POST /api/v1/counter/increment HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`,
  );
  return { answer, finish: () => socket.write(body.slice(half)), closed: () => closed };
}

it("drains on SIGTERM: every answered request counted once, no 5xx, queued events applied, exit 0 in time", async () => {
  const port = await freePort();
  const prefix = `drain${Date.now()}`;
  const server = await runNode(
    ["shared/runtime/server.ts"],
    {
      REDIS_URL: redis.url,
      PORT: String(port),
      HOST: "127.0.0.1",
      KEY_PREFIX: prefix,
      SHUTDOWN_TIMEOUT_MS: "10000",
      LOG_LEVEL: "info",
    },
    "highpress listening",
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 20 });
  const answers: Answer[] = [];
  let signalled = false;
  let n = 0;
  const worker = async () => {
    for (;;) {
      const i = n++;
      const answer =
        i % 4 === 0
          ? await post(port, agent, "/api/v1/counter/events", {
              events: [{ resource_id: "drained", counter_type: "view", user_id: `u${i}`, event_id: `e${i}` }],
            })
          : await post(port, agent, "/api/v1/counter/increment", {
              resource_id: "drained",
              counter_type: "like",
              user_id: `u${i}`,
            });
      if (!answer) return; // the server stopped listening
      answers.push({ ...answer, afterSignal: signalled });
    }
  };
  const workers = Array.from({ length: 20 }, worker);
  await new Promise((r) => setTimeout(r, 1500));
  // A request whose body is half sent is in flight when the signal comes.
  const slow = halfSentIncrement(port, "slow_user");
  await new Promise((r) => setTimeout(r, 100));
  const signalledAt = Date.now();
  signalled = true;
  server.process.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  slow.finish();
  await Promise.all(workers);
  const code = await server.exited;
  const tookMs = Date.now() - signalledAt;
  agent.destroy();

  expect(code, server.output()).toBe(0);
  expect(tookMs).toBeLessThan(10_000);
  expect(server.output()).toContain("highpress draining");
  expect(answers.length).toBeGreaterThan(100);
  expect(answers.filter((a) => a.status >= 500)).toEqual([]);
  expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200, 202]));
  // The request in flight when the signal came was answered, and its connection closed.
  expect(await slow.answer).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\nconnection: close\r\n/i);
  expect(slow.closed()).toBe(true);

  // What was answered is what the store holds: each like once, each accepted event applied.
  const client = createRedisClient(redis.url, false, 2000);
  const store = createRedisStore(client, { keyPrefix: prefix, timeoutMs: 2000 });
  try {
    const [likes, views] = await store.read([
      { resourceId: "drained", type: "like", kind: "unique" },
      { resourceId: "drained", type: "view", kind: "total" },
    ]);
    // The answered increments and the slow one.
    expect(likes?.count).toBe(answers.filter((a) => a.status === 200).length + 1);
    expect(views?.count).toBe(answers.reduce((sum, a) => sum + a.accepted, 0));
  } finally {
    client.disconnect();
  }
}, 60_000);
