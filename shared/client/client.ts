// A typed client for the HighPress API, for consumers. Its types come from the same schemas
// as the OpenAPI document (shared/http/schemas.ts, shared/http/responses.ts), its paths from the
// route table (shared/http/routes.ts); at run time it needs fetch and zod (the table's schemas).
//
//   const counters = createHighPressClient({ baseUrl: "https://api.example.com", apiKey });
//   const { count } = await counters.increment({ resource_id: "a1", counter_type: "like", user_id: "u1" });
//
// Retries are safe: every increment carries an Idempotency-Key (one is made when you give
// none), and a 429, a 503 or a network failure is retried with that same key, so the
// increment applies exactly once. The admin calls (`counters.admin`, with an adminKey) are
// retried the same way: setting, resetting and erasing again end in the same state.

import type {
  AcceptedResult,
  BatchResult,
  CounterResult,
  EraseResult,
  ErrorBody,
  HealthResult,
  HistoryResult,
  HotResult,
  IncrementResult,
  IncrementsResult,
} from "../http/responses.ts";
import { type Method, pathOf, ROUTE } from "../http/routes.ts";
import type { BatchQuery, EventInput, IncrementInput } from "../http/schemas.ts";
import { type AppSyncLiveOptions, appSyncLive, type LiveSubscription, sseLive } from "./live.ts";

export type {
  AcceptedResult,
  AppSyncLiveOptions,
  BatchQuery,
  BatchResult,
  CounterResult,
  EraseResult,
  EventInput,
  HealthResult,
  HistoryResult,
  HotResult,
  IncrementInput,
  IncrementResult,
  IncrementsResult,
  LiveSubscription,
};

export interface HighPressClientOptions {
  /** e.g. the stack's ApiUrl, or http://localhost:8080 */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` on writes. */
  apiKey?: string | undefined;
  /** Sent as `Authorization: Bearer <key>` on the admin calls. */
  adminKey?: string | undefined;
  /** Per attempt. Default 5000 ms. */
  timeoutMs?: number;
  /** Further attempts after a 429, a 503 or a network failure. Default 2. */
  retries?: number;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /**
   * Live counts on AWS (the stack's LiveRealtimeUrl, LiveHttpHost and subscribers' key):
   * live() then follows AppSync Events. Without it, live() reads the local server's stream.
   */
  appsync?: AppSyncLiveOptions;
}

/** A non-2xx answer: the API's error envelope, with the HTTP status. */
export class HighPressError extends Error {
  override name = "HighPressError";
  readonly status: number;
  readonly title: string;
  readonly details: { path: string; message: string }[];
  /** Seconds, from Retry-After, when the server sent one. */
  readonly retryAfter?: number;
  /** A 503 of a write: whether it may have been applied. */
  readonly mayHaveApplied?: boolean;

  constructor(status: number, body: Partial<ErrorBody>, retryAfter?: number) {
    super(body.message ?? `HTTP ${status}`);
    this.status = status;
    this.title = body.error ?? "Error";
    this.details = body.details ?? [];
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
    if (body.may_have_applied !== undefined) this.mayHaveApplied = body.may_have_applied;
  }
}

const RETRYABLE = new Set([429, 503]);

type Request = <T>(
  method: Method,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<{ body: T; headers: Headers }>;

/** One call with its retries: a 429, a 503 or a network failure is tried again, after Retry-After or a backoff. */
function requester(options: HighPressClientOptions): Request {
  const base = options.baseUrl.replace(/\/$/, "");
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  const retries = options.retries ?? 2;
  return async function request<T>(
    method: Method,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ body: T; headers: Headers }> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await doFetch(`${base}${path}`, {
          method,
          headers: {
            accept: "application/json",
            ...(body === undefined ? {} : { "content-type": "application/json" }),
            ...headers,
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        if (attempt >= retries) throw error;
        await sleep(backoff(attempt));
        continue;
      }
      const parsed = (await res.json().catch(() => ({}))) as T & Partial<ErrorBody>;
      if (res.ok) return { body: parsed, headers: res.headers };
      const retryAfter = res.headers.has("retry-after") ? Number(res.headers.get("retry-after")) : undefined;
      if (!RETRYABLE.has(res.status) || attempt >= retries)
        throw new HighPressError(res.status, parsed, retryAfter);
      await sleep(retryAfter !== undefined ? retryAfter * 1000 : backoff(attempt));
    }
  };
}

/** The operator's calls: they need `adminKey`, and exist only where the server has ADMIN_KEYS. */
function adminCalls(options: HighPressClientOptions, request: Request) {
  const adminHeaders = (): Record<string, string> =>
    options.adminKey ? { authorization: `Bearer ${options.adminKey}` } : {};
  const counterPath = (id: "setCounter" | "resetCounter", resourceId: string, counterType: string) =>
    pathOf(id, { resource_id: resourceId, counter_type: counterType });

  return {
    /** Sets a total counter (and its all-time score); answers the counter as get() does. */
    async setCount(resourceId: string, counterType: string, count: number): Promise<CounterResult> {
      const path = counterPath("setCounter", resourceId, counterType);
      return (
        await request<{ data: CounterResult }>(ROUTE.setCounter.method, path, { count }, adminHeaders())
      ).body.data;
    },
    /** Resets a counter of either kind to 0, rankings included. */
    async reset(resourceId: string, counterType: string): Promise<CounterResult> {
      const path = counterPath("resetCounter", resourceId, counterType);
      return (
        await request<{ data: CounterResult }>(ROUTE.resetCounter.method, path, undefined, adminHeaders())
      ).body.data;
    },
    /** Removes a user from every unique counter; returns how many they left. */
    async eraseUser(userId: string): Promise<EraseResult> {
      const path = pathOf("eraseUser", { user_id: userId });
      return (await request<{ data: EraseResult }>(ROUTE.eraseUser.method, path, undefined, adminHeaders()))
        .body.data;
    },
  };
}

/** The URLs of the SVG answers (a badge, a history's sparkline), for an <img> or a README. */
function imageUrls(base: string) {
  return {
    /** The URL of a counter's SVG badge, for an <img> or a README; label and color are optional. */
    badgeUrl(resourceId: string, counterType: string, opts: { label?: string; color?: string } = {}): string {
      const params = new URLSearchParams();
      if (opts.label !== undefined) params.set("label", opts.label);
      if (opts.color !== undefined) params.set("color", opts.color);
      const query = params.size > 0 ? `?${params}` : "";
      return `${base}${pathOf("badge", { resource_id: resourceId, counter_type: counterType })}${query}`;
    },
    /** The URL of a counter's history as an SVG sparkline. */
    historyUrl(resourceId: string, counterType: string, opts: { days?: number } = {}): string {
      const query = opts.days === undefined ? "" : `?days=${opts.days}`;
      return `${base}${pathOf("historySvg", { resource_id: resourceId, counter_type: counterType })}${query}`;
    },
  };
}

/** A counter's count and its net change on each of the last `days` UTC days (default 30), oldest first. */
function historyCall(request: Request) {
  return async (
    resourceId: string,
    counterType: string,
    opts: { days?: number } = {},
  ): Promise<HistoryResult> => {
    const query = opts.days === undefined ? "" : `?days=${opts.days}`;
    const path = `${pathOf("history", { resource_id: resourceId, counter_type: counterType })}${query}`;
    return (await request<{ data: HistoryResult }>(ROUTE.history.method, path)).body.data;
  };
}

/**
 * Calls `onCount` with a counter's count as it changes (at most about once a second), first
 * the current one on the local server; AppSync Events with `appsync`. Reconnects until `close()`.
 */
function liveCall(options: HighPressClientOptions, base: string, headers: Record<string, string>) {
  return (resourceId: string, counterType: string, onCount: (count: number) => void): LiveSubscription =>
    options.appsync
      ? appSyncLive(options.appsync, resourceId, counterType, onCount)
      : sseLive(base, resourceId, counterType, onCount, headers, options.fetch);
}

export function createHighPressClient(options: HighPressClientOptions) {
  const base = options.baseUrl.replace(/\/$/, "");
  const request = requester(options);
  const admin = adminCalls(options, request);
  const writeHeaders = (): Record<string, string> =>
    options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};

  return {
    admin,
    ...imageUrls(base),
    /** A counter's count and its net change on each of the last `days` UTC days (default 30), oldest first. */
    history: historyCall(request),
    live: liveCall(options, base, writeHeaders()),
    /** Adds to a counter (or adds/removes a user of a unique one); applies once, whatever the retries. */
    async increment(
      input: IncrementInput,
      opts: { idempotencyKey?: string } = {},
    ): Promise<IncrementResult & { replayed: boolean }> {
      const key = opts.idempotencyKey ?? crypto.randomUUID();
      const { body, headers } = await request<{ data: IncrementResult }>(
        ROUTE.increment.method,
        pathOf("increment"),
        input,
        {
          ...writeHeaders(),
          "idempotency-key": key,
        },
      );
      return { ...body.data, replayed: headers.get("idempotent-replayed") === "true" };
    },
    /** Applies 1 to 100 increments in one request, in order; applies once, whatever the retries. */
    async incrementMany(
      items: IncrementInput[],
      opts: { idempotencyKey?: string } = {},
    ): Promise<{ results: IncrementsResult; replayed: boolean }> {
      const key = opts.idempotencyKey ?? crypto.randomUUID();
      const { body, headers } = await request<{ data: IncrementsResult }>(
        ROUTE.incrementMany.method,
        pathOf("incrementMany"),
        { increments: items },
        { ...writeHeaders(), "idempotency-key": key },
      );
      return { results: body.data, replayed: headers.get("idempotent-replayed") === "true" };
    },
    /**
     * Queues 1 to 100 increments as events (202), counted shortly after, each once: give
     * `event_id`s, or let the request's Idempotency-Key (made when you give none) name them.
     */
    async queueEvents(events: EventInput[], opts: { idempotencyKey?: string } = {}): Promise<AcceptedResult> {
      const key = opts.idempotencyKey ?? crypto.randomUUID();
      const { body } = await request<{ data: AcceptedResult }>(
        ROUTE.queueEvents.method,
        pathOf("queueEvents"),
        { events },
        {
          ...writeHeaders(),
          "idempotency-key": key,
        },
      );
      return body.data;
    },
    async get(
      resourceId: string,
      counterType: string,
      opts: { userId?: string } = {},
    ): Promise<CounterResult> {
      const query = opts.userId === undefined ? "" : `?user_id=${encodeURIComponent(opts.userId)}`;
      const path = `${pathOf("getCounter", { resource_id: resourceId, counter_type: counterType })}${query}`;
      return (await request<{ data: CounterResult }>(ROUTE.getCounter.method, path)).body.data;
    },
    async batch(queries: BatchQuery[]): Promise<BatchResult> {
      return (await request<{ data: BatchResult }>(ROUTE.batch.method, pathOf("batch"), { queries })).body
        .data;
    },
    async hot(
      counterType: string,
      opts: { limit?: number; period?: HotResult["period"] } = {},
    ): Promise<HotResult> {
      const params = new URLSearchParams();
      if (opts.limit !== undefined) params.set("limit", String(opts.limit));
      if (opts.period !== undefined) params.set("period", opts.period);
      const query = params.size > 0 ? `?${params}` : "";
      return (
        await request<{ data: HotResult }>(
          ROUTE.hot.method,
          `${pathOf("hot", { counter_type: counterType })}${query}`,
        )
      ).body.data;
    },
    async health(opts: { deep?: boolean } = {}): Promise<HealthResult> {
      const path = opts.deep ? `${pathOf("health")}?deep=1` : pathOf("health");
      return (await request<HealthResult>(ROUTE.health.method, path)).body;
    },
  };
}

export type HighPressClient = ReturnType<typeof createHighPressClient>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const backoff = (attempt: number) => Math.min(100 * 2 ** attempt, 2000) * (0.5 + Math.random() / 2);
