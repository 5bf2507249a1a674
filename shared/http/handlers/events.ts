// The queued-events route: validated like a batch of increments, given ids that make each
// event count once, durably queued, answered 202 before they are counted.

import { randomUUID } from "node:crypto";
import type { QueuedEvent } from "../../domain/model.ts";
import { json } from "../pipeline.ts";
import { type HandlerDeps, kindOf, type RouteHandlers } from "./context.ts";

export function eventHandlers(d: HandlerDeps): Pick<RouteHandlers, "queueEvents"> {
  const { store, counterTypes, pipeline } = d;
  return {
    queueEvents: async (c, { body, headers, limits }) => {
      // The queue is not the store: the limits are counted before the events are sent.
      if (limits.length > 0) await pipeline.timed(c, store.limit(limits, d.now()));
      const key = headers["Idempotency-Key"];
      // An event without an event_id is named by the request's Idempotency-Key and its
      // place, so a retried POST counts nothing twice; without either, by a fresh id.
      const events: QueuedEvent[] = body.events.map((e, i) => ({
        eventId: e.event_id ?? (key === undefined ? `auto:${randomUUID()}` : `idem:${key}#${i}`),
        resourceId: e.resource_id,
        type: e.counter_type,
        kind: kindOf(counterTypes, e.counter_type),
        userId: e.user_id,
        delta: e.increment,
      }));
      // A key reused with other events is a 422 before anything is queued; the same events
      // again are queued again (the consumer counts each id once), so a POST whose send
      // failed after its claim is still delivered by its retry.
      if (key !== undefined) await pipeline.timed(c, store.claimEventsKey(key, events, d.now()));
      await pipeline.timed(c, d.eventQueue.send(events));
      return json(c, { success: true, data: { accepted: events.length } }, 202);
    },
  };
}
