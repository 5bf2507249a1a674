// Builds the real app over a store for tests, with small request helpers.

import type { CounterStore, LocalEventQueue } from "../../shared/domain/model.ts";
import { createApp } from "../../shared/http/app.ts";
import { type AppDeps, sendingTo } from "../../shared/http/http-app.ts";
import { createLogger, type Logger } from "../../shared/runtime/logger.ts";
import { createMemoryEventQueue } from "../../shared/stores/memory.ts";

export const DEFAULT_TYPES = new Map([
  ["like", "unique"],
  ["follow", "unique"],
  ["view", "total"],
] as const);

/** Logs are kept, not printed, so tests can assert on them and output stays readable. */
export function memoryLogger(): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger("debug", (_level, line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return Object.assign(logger, { lines });
}

/** The app over `store`; POST /events queues to `queue` (default: a fresh one in memory), returned as `queue`. */
export function testApp(store: CounterStore, overrides: Partial<AppDeps> & { queue?: LocalEventQueue } = {}) {
  const logger = memoryLogger();
  const { queue = createMemoryEventQueue(), ...deps } = overrides;
  const app = createApp({
    store,
    eventQueue: sendingTo(queue),
    counterTypes: DEFAULT_TYPES,
    maxBodyBytes: 64 * 1024,
    apiKeys: [],
    logger,
    ...deps,
  });
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const increment = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    post("/api/v1/counter/increment", body, headers);
  const get = async (path: string, headers: Record<string, string> = {}) => app.request(path, { headers });
  return { app, logger, post, increment, get, queue };
}

/** Parses a response as JSON; fails the test with the body when it is not JSON. */
// biome-ignore lint/suspicious/noExplicitAny: test bodies are read field by field and asserted on.
export async function json(res: Response): Promise<Record<string, any>> {
  const text = await res.text();
  try {
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    return JSON.parse(text) as Record<string, any>;
  } catch {
    throw new Error(`not JSON (status ${res.status}): ${text.slice(0, 200)}`);
  }
}

/**
 * A fetch into the app whose first `lost` answers are lost after the app applied the request
 * (a 503 comes back instead), as a timeout or a dropped connection would: for retry tests.
 */
export function lossyFetch(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  lost = 1,
): typeof fetch {
  let left = lost;
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const res = await app.fetch(new Request(input, init));
    if (left-- > 0) return new Response("{}", { status: 503, headers: { "retry-after": "0" } });
    return res;
  }) as typeof fetch;
}

/** Runs `work` with stdout captured (the default loggers write there): the JSON lines it printed. */
export async function stdoutLines(work: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await work();
  } finally {
    process.stdout.write = write;
  }
  return lines
    .flatMap((chunk) => chunk.split("\n").filter(Boolean))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
