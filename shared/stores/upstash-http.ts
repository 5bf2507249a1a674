// How @upstash/redis reaches Upstash here: a Requester on node:http / node:https instead of
// its own fetch(). Why: a function's first fetch() makes Node load its HTTP client (undici),
// about 20 ms of every Upstash cold start, while Lambda's runtime has node:http loaded
// before a function's code runs (its Runtime API client: aws-lambda-nodejs-runtime-interface-
// client, src/RAPIDClient.js, `require('http')`). Same wire as the library's client: POST a
// JSON command (or a pipeline) with a Bearer token, answers in base64, one attempt, a
// deadline per request.

import type * as NodeHttp from "node:http";
import type { Agent as HttpAgent, IncomingMessage } from "node:http";
import type * as NodeHttps from "node:https";
import { errors, type Requester, type UpstashRequest, type UpstashResponse } from "@upstash/redis";

// Taken with getBuiltinModule, not `import`: an ES import of node:http makes Node 22+ read every
// export of it, and one of them (WebSocket) loads undici, the very cost this module avoids.
// node:https (and with it TLS) only for an https address.
const http = process.getBuiltinModule("node:http") as typeof NodeHttp;
const httpsModule = () => process.getBuiltinModule("node:https") as typeof NodeHttps;

/** A request that got no complete answer within its deadline (it may have been applied). */
export class UpstashTimeoutError extends Error {
  override name = "UpstashTimeoutError";
}

/**
 * Strings in an answer come in base64 (`Upstash-Encoding: base64`), but for a top-level "OK":
 * as @upstash/redis decodes them, without its atob loop.
 */
function decoded(raw: unknown, top: boolean): unknown {
  if (typeof raw === "string") return top && raw === "OK" ? raw : Buffer.from(raw, "base64").toString("utf8");
  if (Array.isArray(raw)) return raw.map((item) => decoded(item, false));
  return raw;
}

/** One answer's {result, error}, its result decoded. */
const answerOf = (raw: { result?: unknown; error?: string }): UpstashResponse<unknown> => ({
  result: decoded(raw.result, true),
  ...(raw.error !== undefined ? { error: raw.error } : {}),
});

interface Reply {
  status: number;
  text: string;
}

/** Reads a whole response body as UTF-8. */
function readReply(response: IncomingMessage, done: (error: Error | null, reply?: Reply) => void): void {
  const chunks: Buffer[] = [];
  response.on("data", (chunk: Buffer) => chunks.push(chunk));
  response.on("end", () =>
    done(null, { status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
  );
  response.on("error", (error) => done(error));
}

// An idle connection is used again only within this long, as fetch's client does (undici's
// keepAliveTimeout): a Lambda environment frozen for minutes must not send a write into a
// connection Upstash has since closed (a reset then would leave the write in doubt).
const IDLE_REUSE_MS = 4_000;

/** An agent that keeps connections open, and drops those idle past IDLE_REUSE_MS before each request. */
function keptAliveAgent(secure: boolean, idleReuseMs: number): { agent: HttpAgent; dropStale(): void } {
  const agent = secure ? new (httpsModule().Agent)({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const idleSince = new WeakMap<object, number>();
  agent.on("free", (socket: object) => idleSince.set(socket, Date.now()));
  return {
    agent,
    dropStale() {
      const now = Date.now();
      for (const sockets of Object.values(agent.freeSockets))
        for (const socket of sockets ?? [])
          if (now - (idleSince.get(socket) ?? now) > idleReuseMs) socket.destroy();
    },
  };
}

/** The Requester for the database at `url` (no trailing slash needed), every request bounded by `timeoutMs`. */
export function nodeRequester(
  url: string,
  token: string,
  timeoutMs: number,
  idleReuseMs = IDLE_REUSE_MS,
): Requester {
  const base = url.replace(/\/+$/, "");
  const secure = base.startsWith("https:");
  const send = secure ? httpsModule().request : http.request;
  const { agent, dropStale } = keptAliveAgent(secure, idleReuseMs);
  const headers = {
    authorization: `Bearer ${token}`,
    "content-type": "application/json",
    "upstash-encoding": "base64",
  };
  const post = (target: string, body: string) =>
    new Promise<Reply>((resolve, reject) => {
      dropStale();
      let settled = false;
      const settle = (error: Error | null, reply?: Reply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(reply as Reply);
      };
      const request = send(
        target,
        { method: "POST", agent, headers: { ...headers, "content-length": Buffer.byteLength(body) } },
        (response) => readReply(response, settle),
      );
      const timer = setTimeout(
        () => request.destroy(new UpstashTimeoutError(`no answer from Upstash within ${timeoutMs} ms`)),
        timeoutMs,
      );
      request.on("error", (error) => settle(error));
      request.end(body);
    });
  return {
    readYourWrites: false,
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      if (req.isStreaming) throw new Error("streams are opened by the change feed, not this requester");
      const body = JSON.stringify(req.body);
      const reply = await post([base, ...(req.path ?? [])].join("/"), body);
      let parsed: unknown;
      try {
        parsed = JSON.parse(reply.text);
      } catch {
        // Not Upstash's JSON (a proxy's error page, a cut body): the request went out.
        throw new Error(`Upstash answered HTTP ${reply.status} with a body that is not JSON`);
      }
      if (reply.status < 200 || reply.status > 299) {
        // The message @upstash/redis writes, which upstash.ts reads the store's reply from.
        throw new errors.UpstashError(`${(parsed as { error?: string }).error}, command was: ${body}`);
      }
      if (Array.isArray(parsed)) return parsed.map(answerOf) as UpstashResponse<TResult>;
      return answerOf(parsed as { result?: unknown; error?: string }) as UpstashResponse<TResult>;
    },
  };
}
