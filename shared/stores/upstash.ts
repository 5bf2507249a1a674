// The Upstash store over @upstash/redis (REST). Same scripts as the Redis store: one EVALSHA,
// so one billed command, per increment. The client is told not to retry (a retried POST may
// apply a write twice) and every request carries its own deadline.

import { errors, Redis } from "@upstash/redis";
import type { CounterStore, LocalEventQueue } from "../domain/model.ts";
import {
  createScriptEventQueue,
  createScriptStore,
  type ScriptStoreOptions,
  type ScriptTransport,
} from "./script-store.ts";

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

// fetch failed before a request went out: nothing was sent.
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);

export function createUpstashClient(url: string, token: string, timeoutMs: number): Redis {
  return new Redis({
    url,
    token,
    // `retry: false` still sends twice (attempts are counted from 0 to 1 inclusive);
    // zero retries sends once.
    retry: { retries: 0 },
    // A function gives each request a fresh signal; a fixed, already-aborted signal would
    // make the client answer a fake "Aborted" result instead of failing.
    signal: () => AbortSignal.timeout(timeoutMs),
    // Members such as "123" must stay strings, not be parsed as JSON numbers.
    automaticDeserialization: false,
    enableTelemetry: false,
    // Each script already reads what it wrote; the sync token only costs a header.
    readYourWrites: false,
  });
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
    async close() {},
    replyOf: upstashReply,
    isNotSent: (error) => {
      const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
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
