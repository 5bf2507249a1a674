// The queued-events route: validated like a batch of increments, given ids that make each
// event count once, durably queued, answered 202 before they are counted.

import { randomUUID } from "node:crypto";
import type { QueuedEvent } from "../../domain/model.ts";
import { readJson } from "../body.ts";
import { json } from "../pipeline.ts";
import { parseEvents, parseIdempotencyKey } from "../validation.ts";
import type { HandlerDeps, RouteHandlers } from "./context.ts";

export function eventHandlers(d: HandlerDeps): Pick<RouteHandlers, "queueEvents"> {
  const { store, counterTypes, guards, pipeline } = d;
  return {
    queueEvents: async (c) => {
      await guards.requireWriteKey(c);
      const idempotencyKey = parseIdempotencyKey(c.req.header("idempotency-key"));
      const requests = parseEvents(await readJson(c, d.maxBodyBytes, d.platform), counterTypes);
      if (guards.limiting) {
        const limits = guards.batchLimitsFor(
          c,
          requests.map((r) => r.userId),
          "events",
        );
        await pipeline.timed(c, store.limit(limits, d.now()));
      }
      // An event without an event_id is named by the request's Idempotency-Key and its
      // place, so a retried POST counts nothing twice; without either, by a fresh id.
      const events: QueuedEvent[] = requests.map((r, i) => ({
        eventId:
          r.eventId ??
          (idempotencyKey === undefined ? `auto:${randomUUID()}` : `idem:${idempotencyKey}#${i}`),
        resourceId: r.resourceId,
        type: r.type,
        kind: r.kind,
        userId: r.userId,
        delta: r.delta,
      }));
      await pipeline.timed(c, d.eventQueue.send(events));
      return json(c, { success: true, data: { accepted: events.length } }, 202);
    },
  };
}
