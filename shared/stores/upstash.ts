// The Upstash store over @upstash/redis (REST). Same scripts as the Redis store: one EVALSHA,
// so one billed command, per increment. The client is told not to retry (a retried POST may
// apply a write twice) and every request carries its own deadline.

import { errors, Redis } from "@upstash/redis";
import type { CounterStore } from "../domain/model.ts";
import { createScriptStore, type ScriptTransport } from "./script-store.ts";

export interface UpstashStoreOptions {
  keyPrefix: string;
  timeoutMs: number;
  /** How long an Idempotency-Key is remembered. Default 24 h. */
  idempotencyTtlMs?: number;
}

// The client throws one error class for Redis refusing a command (HTTP 400, a message that
// starts with a Redis error code such as ERR or WRONGTYPE) and for Upstash itself failing
// (5xx, auth, limits). Only the first is a bug in the request; the rest mean "unavailable".
const REDIS_ERROR_CODE = /^[A-Z]{2,}[A-Z_]*\s/;
const TRANSIENT_ERROR = /max (daily )?(request|command)s? limit|rate limit|^(LOADING|BUSY|TRYAGAIN)\b/i;

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

export function createUpstashStore(client: Redis, options: UpstashStoreOptions): CounterStore {
  const transport: ScriptTransport = {
    evalsha: (sha1, keys, args) => client.evalsha(sha1, keys, args),
    eval: (source, keys, args) => client.eval(source, keys, args),
    async ping() {
      await client.ping();
    },
    async close() {},
    isCommandError: (error) =>
      error instanceof errors.UpstashError &&
      REDIS_ERROR_CODE.test(error.message) &&
      !TRANSIENT_ERROR.test(error.message),
    isNotSent: () => false,
  };
  return createScriptStore(transport, {
    name: "upstash",
    dialect: "upstash",
    keyPrefix: options.keyPrefix,
    timeoutMs: options.timeoutMs,
    ...(options.idempotencyTtlMs ? { idempotencyTtlMs: options.idempotencyTtlMs } : {}),
    cluster: false,
  });
}
