// A local endpoint that speaks the Upstash REST protocol over a real redis-server, so the
// real @upstash/redis client can be tested here: POST / (one command), /pipeline and
// /multi-exec (arrays of commands), Bearer auth, `Upstash-Encoding: base64` answers.
// Like Upstash it accepts the `allow-key-locking` script flag, which redis-server 7 rejects:
// the flag is stripped before the script reaches Redis and the client's SHA mapped to it.
// It logs every command (Upstash bills each) and can hang or drop requests for fault tests.

import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis, ReplyError } from "ioredis";

type Reply = null | number | Buffer | Reply[];

export interface UpstashEndpoint {
  url: string;
  token: string;
  /** Every command received, in order, as [name, ...args]. */
  commands: string[][];
  /** HTTP requests received. */
  requests: number;
  /** Script sources received with EVAL, as the client sent them. */
  scripts: string[];
  /** The next `n` requests are read and then left without an answer (a hung endpoint). */
  hangNext(n: number): void;
  /** The next `n` requests are read and then their connection is destroyed. */
  dropNext(n: number): void;
  close(): Promise<void>;
}

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

function encode(reply: Reply, base64: boolean): unknown {
  if (Buffer.isBuffer(reply)) {
    const text = reply.toString("utf8");
    if (!base64 || text === "OK") return text;
    return reply.toString("base64");
  }
  if (Array.isArray(reply)) return reply.map((r) => encode(r, base64));
  return reply;
}

async function connect(client: Redis): Promise<Redis> {
  client.on("error", () => {});
  if (client.status !== "ready") {
    await new Promise<void>((resolve, reject) => {
      client.once("ready", resolve);
      client.once("error", reject);
    });
  }
  return client;
}

export async function startUpstashEndpoint(redisUrl: string, token = "test-token"): Promise<UpstashEndpoint> {
  const redis = await connect(new Redis(redisUrl, { maxRetriesPerRequest: 0, enableOfflineQueue: false }));
  const shaMap = new Map<string, string>();
  let hang = 0;
  let drop = 0;
  const hung: ServerResponse[] = [];
  /** Subscription streams open now (closed with the endpoint). */
  const streams = new Set<ServerResponse>();

  const endpoint: UpstashEndpoint = {
    url: "",
    token,
    commands: [],
    requests: 0,
    scripts: [],
    hangNext: (n) => {
      hang = n;
    },
    dropNext: (n) => {
      drop = n;
    },
    close: async () => {
      for (const res of [...hung, ...streams]) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      redis.disconnect();
    },
  };

  type Outcome = { result: Reply } | { error: string; down?: true };
  async function run(command: unknown[], conn: Redis = redis): Promise<Outcome> {
    const [rawName, ...rawArgs] = command.map((part) =>
      typeof part === "string" ? part : JSON.stringify(part),
    );
    const name = String(rawName).toLowerCase();
    let args = rawArgs;
    endpoint.commands.push([name, ...args]);
    if (name === "eval" || name === "eval_ro") {
      const source = String(args[0]);
      endpoint.scripts.push(source);
      const stripped = source.replace(/^(#!lua[^\n]*?)flags=([^\n]*)/, (_, head: string, flags: string) => {
        const kept = flags.split(",").filter((f) => f.trim() !== "allow-key-locking");
        return kept.length > 0 ? `${head}flags=${kept.join(",")}` : head.trimEnd();
      });
      shaMap.set(sha1(source), sha1(stripped));
      args = [stripped, ...args.slice(1)];
    } else if (name === "evalsha" || name === "evalsha_ro") {
      args = [shaMap.get(String(args[0])) ?? String(args[0]), ...args.slice(1)];
    }
    try {
      return { result: (await conn.callBuffer(name, ...args)) as Reply };
    } catch (error) {
      if (error instanceof ReplyError) return { error: (error as Error).message };
      // Redis behind the endpoint is gone: Upstash answers such outages with a 5xx.
      return { error: "Service Unavailable", down: true };
    }
  }

  /**
   * Upstash's SUBSCRIBE over REST: Server-Sent Events, `data: subscribe,<channel>,1` and then
   * `data: message,<channel>,<message>` (`pmessage,<pattern>,<channel>,<message>` for a
   * pattern), on a connection of its own to Redis, closed with the request.
   */
  async function streamMessages(res: ServerResponse, pattern: boolean, channel: string): Promise<void> {
    endpoint.commands.push([pattern ? "psubscribe" : "subscribe", channel]);
    const sub = await connect(redis.duplicate());
    streams.add(res);
    res.on("close", () => {
      streams.delete(res);
      sub.disconnect();
    });
    sub.on("message", (ch: string, message: string) => res.write(`data: message,${ch},${message}\n\n`));
    sub.on("pmessage", (p: string, ch: string, message: string) =>
      res.write(`data: pmessage,${p},${ch},${message}\n\n`),
    );
    await (pattern ? sub.psubscribe(channel) : sub.subscribe(channel));
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write(`data: ${pattern ? "psubscribe" : "subscribe"},${channel},1\n\n`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    endpoint.requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (hang > 0) {
      hang--;
      hung.push(res);
      return;
    }
    if (drop > 0) {
      drop--;
      req.socket.destroy();
      return;
    }
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "POST") return send(405, { error: "Method not allowed" });
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: "Unauthorized" });
    const stream = /^\/(p?subscribe)\/(.+)$/.exec((req.url ?? "/").split("?")[0] ?? "/");
    if (stream)
      return streamMessages(res, stream[1] === "psubscribe", decodeURIComponent(stream[2] as string));
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return send(400, { error: "ERR failed to parse command" });
    }
    const base64 = String(req.headers["upstash-encoding"]).toLowerCase() === "base64";
    const out = (r: Outcome) => ("error" in r ? { error: r.error } : { result: encode(r.result, base64) });
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/" || path === "") {
      if (!Array.isArray(body)) return send(400, { error: "ERR command must be an array" });
      const reply = await run(body);
      return send("error" in reply ? (reply.down ? 503 : 400) : 200, out(reply));
    }
    if (path === "/pipeline" || path === "/multi-exec") {
      if (!Array.isArray(body) || !body.every(Array.isArray))
        return send(400, { error: "ERR body must be an array of commands" });
      const commands = body as unknown[][];
      if (path === "/multi-exec") {
        // A connection of its own, so no other request's commands land inside MULTI/EXEC.
        const tx = await connect(redis.duplicate());
        try {
          await tx.call("multi");
          const queued = [];
          for (const command of commands) queued.push(await run(command, tx));
          const exec = (await tx.callBuffer("exec")) as Reply[] | null;
          return send(
            200,
            queued.map((q, i) => ("error" in q ? q : out({ result: (exec?.[i] ?? null) as Reply }))),
          );
        } finally {
          tx.disconnect();
        }
      }
      const replies = [];
      for (const command of commands) replies.push(await run(command));
      if (replies.some((r) => "error" in r && r.down)) return send(503, { error: "Service Unavailable" });
      return send(200, replies.map(out));
    }
    return send(404, { error: `ERR unknown endpoint ${path}` });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return endpoint;
}
