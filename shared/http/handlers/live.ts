// Live counts on the local server: a counter's count as Server-Sent Events, first the current
// one, then each change, at most one per LIVE_INTERVAL_MS (LiveCounts coalesces), a heartbeat
// comment every 15 s. The stream's place is taken (or a JSON 429 answered) and the counter
// followed and read before the stream starts, so a failure is still a JSON error.

import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import type { Unwatch } from "../../domain/live.ts";
import type { CounterKey } from "../../domain/model.ts";
import { LiveStreams } from "../live-streams.ts";
import { type HandlerDeps, kindOf, type RouteHandlers } from "./context.ts";

/** A comment line every 15 s keeps proxies from closing an idle stream. */
export const HEARTBEAT_MS = 15_000;
/** How long a client waits before reconnecting (the stream's `retry:`). */
export const RETRY_MS = 3000;

/** The counts a stream has to send: the latest only, and a wake-up for the loop that sends. */
function mailbox() {
  let latest: number | undefined;
  let wake: (() => void) | undefined;
  return {
    put(count: number) {
      latest = count;
      wake?.();
    },
    /** The latest count not sent yet, once there is one or `ended` says stop (then undefined). */
    async take(ended: () => boolean): Promise<number | undefined> {
      while (latest === undefined && !ended()) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const count = latest;
      latest = undefined;
      return ended() ? undefined : count;
    },
    interrupt: () => wake?.(),
  };
}

/** Sends the first count, then each one the mailbox gets, until the client goes or the server drains. */
async function pushCounts(
  stream: SSEStreamingApi,
  first: number,
  box: ReturnType<typeof mailbox>,
  ended: () => boolean,
): Promise<void> {
  const send = (count: number) =>
    stream.writeSSE({ id: String(Date.now()), data: JSON.stringify({ count }) });
  await stream.writeSSE({ id: String(Date.now()), retry: RETRY_MS, data: JSON.stringify({ count: first }) });
  const heartbeat = setInterval(() => void stream.write(": heartbeat\n\n"), HEARTBEAT_MS);
  try {
    for (let count = await box.take(ended); count !== undefined; count = await box.take(ended)) {
      await send(count);
    }
  } finally {
    clearInterval(heartbeat);
  }
}

export function liveHandlers(d: HandlerDeps): Pick<RouteHandlers, "live"> {
  const { store, counterTypes, pipeline } = d;
  const live = d.live ?? new LiveStreams(store.changes);
  return {
    live: async (c: Context, { params }) => {
      const counter: CounterKey = {
        resourceId: params.resource_id,
        type: params.counter_type,
        kind: kindOf(counterTypes, params.counter_type),
      };
      const box = mailbox();
      let over = false;
      const end = () => {
        over = true;
        box.interrupt();
      };
      const lease = live.admit(d.clientAddress(c), end);
      let stop: Unwatch | undefined;
      let first: number;
      try {
        // Followed first, then read: a change between the two is pushed, never lost.
        stop = await pipeline.timed(c, live.counts.follow(counter, box.put));
        const [reading] = await pipeline.timed(c, store.read([{ ...counter, detail: false }]));
        first = reading?.count ?? 0;
      } catch (error) {
        stop?.();
        lease.release();
        throw error;
      }
      return streamSSE(c, async (stream) => {
        stream.onAbort(end);
        try {
          await pushCounts(stream, first, box, () => over || stream.aborted);
        } finally {
          stop?.();
          lease.release();
        }
      });
    },
  };
}
