// The typed client's live counts: a counter's new counts as they change, from the local
// server's Server-Sent Events (GET …/live) or, on AWS, from AppSync Events over its WebSocket
// protocol (https://docs.aws.amazon.com/appsync/latest/eventapi/event-api-websocket-protocol.html).
// Either way the subscription reconnects by itself until closed.

import { liveChannel } from "../domain/live-channel.ts";
import { pathOf } from "../http/routes.ts";

/** Where live counts come from on AWS: the stack's LiveRealtimeUrl and LiveHttpHost outputs, and the subscribers' API key. */
export interface AppSyncLiveOptions {
  realtimeUrl: string;
  httpHost: string;
  apiKey: string;
  /** Default: the global WebSocket (browsers, Node.js 22+). */
  WebSocket?: typeof WebSocket;
}

export interface LiveSubscription {
  /** Settles once counts flow (the first count over SSE, the subscription's acknowledgement on AWS); rejects if the first try fails. */
  ready: Promise<void>;
  close(): void;
}

type OnCount = (count: number) => void;

/** Waits, or stops waiting when closed. */
const pause = (ms: number, closed: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    closed.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Reads one SSE response: each event's count, the retry it asks for and its last id. */
async function readStream(
  body: ReadableStream<Uint8Array>,
  onCount: OnCount,
  state: { retryMs: number; lastId?: string; ready: () => void },
  closed: AbortSignal,
): Promise<void> {
  const reader = body.getReader();
  // Closing cancels the body itself: a fetch that is not over the network ignores its signal.
  const cancel = () => void reader.cancel().catch(() => {});
  closed.addEventListener("abort", cancel, { once: true });
  try {
    await readEvents(reader, onCount, state);
  } finally {
    closed.removeEventListener("abort", cancel);
  }
}

async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  onCount: OnCount,
  state: { retryMs: number; lastId?: string; ready: () => void },
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    const blocks = buffer.split("\n\n");
    buffer = blocks.pop() ?? "";
    for (const block of blocks) {
      for (const line of block.split("\n")) {
        if (line.startsWith("retry: ")) state.retryMs = Number(line.slice(7)) || state.retryMs;
        if (line.startsWith("id: ")) state.lastId = line.slice(4);
        if (line.startsWith("data: ")) {
          onCount((JSON.parse(line.slice(6)) as { count: number }).count);
          state.ready();
        }
      }
    }
  }
}

/** Follows a counter over the local server's Server-Sent Events, reconnecting with Last-Event-ID. */
export function sseLive(
  base: string,
  resourceId: string,
  counterType: string,
  onCount: OnCount,
  headers: Record<string, string>,
  doFetch: typeof fetch = fetch,
): LiveSubscription {
  const closed = new AbortController();
  let settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const state = { retryMs: 3000, lastId: undefined as string | undefined, ready: () => settle?.resolve() };
  const url = `${base}${pathOf("live", { resource_id: resourceId, counter_type: counterType })}`;
  void (async () => {
    for (let first = true; !closed.signal.aborted; first = false) {
      try {
        const res = await doFetch(url, {
          headers: {
            accept: "text/event-stream",
            ...headers,
            ...(state.lastId ? { "last-event-id": state.lastId } : {}),
          },
          signal: closed.signal,
        });
        if (!res.ok || !res.body) throw new Error(`live stream answered ${res.status}: ${await res.text()}`);
        await readStream(res.body, onCount, state, closed.signal);
      } catch (error) {
        if (first) settle?.reject(error);
      }
      await pause(state.retryMs, closed.signal);
    }
  })();
  ready.catch(() => {});
  return { ready, close: () => closed.abort() };
}

const base64url = (text: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

/** One WebSocket session: connection_init, then the subscription; resolves when the socket closes. */
function appSyncSession(
  options: AppSyncLiveOptions,
  channel: string,
  onCount: OnCount,
  closed: AbortSignal,
  onReady: () => void,
): Promise<void> {
  const auth = { host: options.httpHost, "x-api-key": options.apiKey };
  const Socket = options.WebSocket ?? WebSocket;
  const socket = new Socket(options.realtimeUrl, [
    "aws-appsync-event-ws",
    `header-${base64url(JSON.stringify(auth))}`,
  ]);
  const id = crypto.randomUUID();
  let keepAlive: ReturnType<typeof setTimeout> | undefined;
  const expectKeepAlive = (ms: number) => {
    clearTimeout(keepAlive);
    keepAlive = setTimeout(() => socket.close(), ms);
  };
  return new Promise<void>((resolve, reject) => {
    const end = () => {
      clearTimeout(keepAlive);
      if (socket.readyState === socket.OPEN) {
        socket.send(JSON.stringify({ type: "unsubscribe", id }));
        socket.close();
      }
    };
    closed.addEventListener("abort", end);
    socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "connection_init" })));
    socket.addEventListener("message", (message) => {
      const data = JSON.parse(String(message.data)) as {
        type: string;
        id?: string;
        event?: string;
        connectionTimeoutMs?: number;
        errors?: unknown;
      };
      if (data.type === "connection_ack") {
        expectKeepAlive(data.connectionTimeoutMs ?? 300_000);
        socket.send(JSON.stringify({ type: "subscribe", id, channel, authorization: auth }));
      } else if (data.type === "ka") expectKeepAlive(300_000);
      else if (data.type === "subscribe_success" && data.id === id) onReady();
      else if (data.type === "subscribe_error")
        reject(new Error(`AppSync Events refused the subscription: ${JSON.stringify(data.errors)}`));
      else if (data.type === "data" && data.id === id && data.event)
        onCount((JSON.parse(data.event) as { count: number }).count);
    });
    socket.addEventListener("error", () => reject(new Error(`could not reach ${options.realtimeUrl}`)));
    socket.addEventListener("close", () => {
      clearTimeout(keepAlive);
      closed.removeEventListener("abort", end);
      resolve();
    });
  });
}

/** Follows a counter on AWS AppSync Events (its channel from live-channel.ts), reconnecting until closed. */
export function appSyncLive(
  options: AppSyncLiveOptions,
  resourceId: string,
  counterType: string,
  onCount: OnCount,
): LiveSubscription {
  const closed = new AbortController();
  let settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  void (async () => {
    const channel = await liveChannel(counterType, resourceId);
    for (let first = true; !closed.signal.aborted; first = false) {
      try {
        await appSyncSession(options, channel, onCount, closed.signal, () => settle?.resolve());
      } catch (error) {
        if (first) settle?.reject(error);
      }
      await pause(1000 + Math.random() * 1000, closed.signal);
    }
  })();
  ready.catch(() => {});
  return { ready, close: () => closed.abort() };
}
