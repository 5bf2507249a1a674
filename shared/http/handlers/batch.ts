// The batch read of BatchFunction: up to 100 counters in one store round trip.

import { json } from "../pipeline.ts";
import { type HandlerDeps, kindOf, type RouteHandlers } from "./context.ts";

export function batchHandlers(d: HandlerDeps): Pick<RouteHandlers, "batch"> {
  const { store, counterTypes, pipeline } = d;
  return {
    batch: async (c, { body }) => {
      const refs = body.queries.map((q) => ({
        resourceId: q.resource_id,
        type: q.counter_type,
        kind: kindOf(counterTypes, q.counter_type),
      }));
      const readings = await pipeline.timed(c, store.read(refs));
      const data = refs.map((ref, i) => ({
        resource_id: ref.resourceId,
        counter_type: ref.type,
        count: readings[i]?.count ?? 0,
      }));
      return json(c, { success: true, data });
    },
  };
}
