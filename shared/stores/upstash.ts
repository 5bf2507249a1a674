// The Upstash store over @upstash/redis (REST). Same scripts as the Redis store: one EVALSHA,
// so one billed command, per increment. The client's requests go through upstash-http.ts: one
// attempt each (a retried POST may apply a write twice), each with its own deadline.

import { errors, Redis } from "@upstash/redis";
import type { CounterStore, LocalEventQueue } from "../domain/model.ts";
import { NO_PUBSUB } from "./script-kernel.ts";
import {
  createScriptEventQueue,
  createScriptStore,
  type PubSubOpener,
  type ScriptStoreOptions,
  type ScriptTransport,
} from "./script-store.ts";
import { nodeRequester } from "./upstash-http.ts";

/** The script store's options but those Upstash fixes (one shard, no cluster). */
export type UpstashStoreOptions = Omit<ScriptStoreOptions, "name" | "dialect" | "cluster" | "rankingShards">;

// The client throws UpstashError when Upstash answered with an error (Redis refusing the
// command, or Upstash's own limits and auth): nothing ran. Its message wraps the reply:
// `Command failed: OOM command not allowed…` (auto-pipelined), `Command 1 [ evalsha ] failed:
// …` (an explicit pipeline) or `OOM command not allowed…, command was: […]` (HTTP 4xx).
const WRAPPED_REPLY = /^Command (\d+ \[ \S+ \] )?failed: /;
const COMMAND_ECHO = /, command was: [\s\S]*$/;

/** The store's own error reply inside an UpstashError, or undefined for any other error. */
function upstashReply(error: unknown): string | undefined {
  if (!(error instanceof errors.UpstashError)) return undefined;
  return error.message.replace(WRAPPED_REPLY, "").replace(COMMAND_ECHO, "");
}

// The connection failed before a request went out: nothing was sent.
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * @upstash/redis on HighPress's own requester (upstash-http.ts: node:http, not fetch), with
 * the options its config constructor would have set: members such as "123" stay strings (no
 * automatic deserialization), no telemetry headers, and commands issued together share one
 * pipeline request, as the library's default client does.
 */
class NodeUpstash extends Redis {
  constructor(url: string, token: string, timeoutMs: number) {
    super(nodeRequester(url, token, timeoutMs));
    this.opts = { automaticDeserialization: false };
    this.enableTelemetry = false;
    this.enableAutoPipelining = true;
    // biome-ignore lint/correctness/noConstructorReturn: the library's own constructor returns its auto-pipelining proxy the same way
    return this.autoPipeline();
  }
}

/**
 * A client that sends each command once (a retried POST may apply a write twice), each
 * request bounded by `timeoutMs`, over node:http(s) (upstash-http.ts says why).
 */
export function createUpstashClient(url: string, token: string, timeoutMs: number): Redis {
  const client: Redis = new NodeUpstash(url, token, timeoutMs);
  credentials.set(client, { url: url.replace(/\/+$/, ""), token });
  return client;
}

/** The address and token each client was made with: the change feed's streams need them. */
const credentials = new WeakMap<Redis, { url: string; token: string }>();

/** Reads a stream of Server-Sent Events, calling `onData` with each `data:` line's text. */
async function readDataLines(
  body: ReadableStream<Uint8Array>,
  onData: (data: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const line of lines) if (line.startsWith("data: ")) onData(line.slice(6));
  }
}

/** `message,<channel>,<message>` or `pmessage,<pattern>,<channel>,<message>`, as Upstash streams them. */
function parseUpstashMessage(
  data: string,
): { channel: string; message: string; pattern?: string } | undefined {
  const [type, ...rest] = data.split(",");
  if (type === "message" && rest.length >= 2)
    return { channel: rest[0] as string, message: rest.slice(1).join(",") };
  if (type === "pmessage" && rest.length >= 3)
    return { pattern: rest[0] as string, channel: rest[1] as string, message: rest.slice(2).join(",") };
  return undefined;
}

/**
 * Pub/sub over Upstash's REST streams: one `POST /subscribe/<channel>` (or `/psubscribe/`)
 * per channel, answered with Server-Sent Events. A stream that ends while still wanted is
 * opened again a second later (a change in between is not heard; the next one is).
 */
function upstashPubSub(client: Redis): PubSubOpener {
  return (onMessage) => {
    const made = credentials.get(client);
    const streams = new Map<string, AbortController>();
    const connect = async (channel: string, pattern: boolean, controller: AbortController) => {
      if (!made) throw new Error("this Upstash client was not made by createUpstashClient");
      const path = `${pattern ? "psubscribe" : "subscribe"}/${encodeURIComponent(channel)}`;
      const response = await fetch(`${made.url}/${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${made.token}`, accept: "text/event-stream" },
        signal: controller.signal,
      });
      if (!response.ok || !response.body) throw new Error(`Upstash answered ${response.status} to ${path}`);
      return response.body;
    };
    const follow = (
      channel: string,
      body: ReadableStream<Uint8Array>,
      pattern: boolean,
      controller: AbortController,
    ) => {
      readDataLines(body, (data) => {
        const parsed = parseUpstashMessage(data);
        if (parsed) onMessage(parsed.channel, parsed.message, parsed.pattern);
      })
        .catch(() => {})
        .finally(() => {
          if (streams.get(channel) !== controller) return;
          setTimeout(() => {
            if (streams.get(channel) !== controller) return;
            connect(channel, pattern, controller)
              .then((again) => follow(channel, again, pattern, controller))
              .catch(() =>
                follow(channel, new ReadableStream({ start: (c) => c.close() }), pattern, controller),
              );
          }, 1000).unref();
        });
    };
    return {
      subscribe: async (channel, pattern) => {
        const controller = new AbortController();
        const body = await connect(channel, pattern, controller);
        streams.set(channel, controller);
        follow(channel, body, pattern, controller);
      },
      unsubscribe: async (channel) => {
        streams.get(channel)?.abort();
        streams.delete(channel);
      },
      close: async () => {
        for (const controller of streams.values()) controller.abort();
        streams.clear();
      },
    };
  };
}

/** What carries scripts to Upstash over REST. */
function upstashTransport(client: Redis): ScriptTransport {
  return {
    evalsha: (sha1, keys, args) => client.evalsha(sha1, keys, args),
    eval: (source, keys, args) => client.eval(source, keys, args),
    pfcount: (key) => client.pfcount(key),
    async *scan(match) {
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, { match, count: 1000 });
        cursor = String(next);
        yield keys;
      } while (cursor !== "0");
    },
    pubsub: process.env.HP_BUNDLED_CHANGES === "0" ? NO_PUBSUB : upstashPubSub(client),
    async close() {},
    replyOf: upstashReply,
    isNotSent: (error) => {
      const code = (error as { code?: unknown } | undefined)?.code;
      return typeof code === "string" && NOT_SENT_CODES.has(code);
    },
  };
}

export function createUpstashStore(client: Redis, options: UpstashStoreOptions): CounterStore {
  return createScriptStore(upstashTransport(client), {
    ...options,
    name: "upstash",
    dialect: "upstash",
    cluster: false,
  });
}

/** The local event queue in this Upstash database (a list under the key prefix). */
export function createUpstashEventQueue(
  client: Redis,
  options: { keyPrefix: string; timeoutMs: number },
): LocalEventQueue {
  return createScriptEventQueue(upstashTransport(client), {
    name: "upstash",
    dialect: "upstash",
    ...options,
    cluster: false,
  });
}
