// The single read: one counter as GET shows it.

import type { CounterReading } from "../../domain/model.ts";
import { json } from "../pipeline.ts";
import { type HandlerDeps, kindOf, type RouteHandlers } from "./context.ts";

/** A counter's answer, as GET shows it: a total with its unique users, a unique one with `member` when asked. */
export function counterData(
  counter: { resourceId: string; type: string },
  reading: CounterReading | undefined,
): Record<string, unknown> {
  const data: Record<string, unknown> = {
    resource_id: counter.resourceId,
    counter_type: counter.type,
    count: reading?.count ?? 0,
  };
  if (reading?.uniqueUsers !== undefined) data.unique_users = reading.uniqueUsers;
  if (reading?.member !== undefined) data.member = reading.member;
  return data;
}

export function readHandlers(d: HandlerDeps): Pick<RouteHandlers, "getCounter"> {
  const { store, counterTypes, pipeline } = d;
  return {
    getCounter: async (c, { params, query }) => {
      const counter = {
        resourceId: params.resource_id,
        type: params.counter_type,
        kind: kindOf(counterTypes, params.counter_type),
        ...(query.user_id === undefined ? {} : { userId: query.user_id }),
        detail: true,
      };
      const [reading] = await pipeline.timed(c, store.read([counter]));
      return json(c, { success: true, data: counterData(counter, reading) });
    },
  };
}
