// The increment routes of IncrementFunction: one increment, or a batch of them in one store call.

import type { IncrementItem } from "../fast-paths.ts";
import { json } from "../pipeline.ts";
import { type HandlerDeps, kindOf, type RouteHandlers } from "./context.ts";

const REPLAYED = { "idempotent-replayed": "true" };

export function incrementHandlers(d: HandlerDeps): Pick<RouteHandlers, "increment" | "incrementMany"> {
  const { store, counterTypes, pipeline } = d;
  /** An increment item as the store takes it. */
  const command = (item: IncrementItem, now: number, idempotencyKey: string | undefined) => ({
    resourceId: item.resource_id,
    type: item.counter_type,
    kind: kindOf(counterTypes, item.counter_type),
    userId: item.user_id,
    delta: item.increment,
    now,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  });
  return {
    increment: async (c, { body, headers, limits }) => {
      const outcome = await pipeline.timed(
        c,
        store.increment({
          ...command(body, d.now(), headers["Idempotency-Key"]),
          ...(limits.length > 0 ? { limits } : {}),
        }),
      );
      const data = {
        resource_id: body.resource_id,
        counter_type: body.counter_type,
        count: outcome.count,
        success: true,
        applied: outcome.applied,
      };
      return json(c, { success: true, data }, 200, outcome.replayed ? REPLAYED : undefined);
    },
    incrementMany: async (c, { body, headers, limits }) => {
      const now = d.now();
      // The request's key covers the whole batch: one record of every item's answer.
      const commands = body.increments.map((item) => command(item, now, undefined));
      const outcomes = await pipeline.timed(
        c,
        store.incrementMany(commands, limits, now, headers["Idempotency-Key"]),
      );
      const data = body.increments.map((item, i) => ({
        resource_id: item.resource_id,
        counter_type: item.counter_type,
        count: outcomes[i]?.count ?? 0,
        success: true,
        applied: outcomes[i]?.applied ?? false,
      }));
      const replayed = outcomes.every((o) => o.replayed);
      return json(c, { success: true, data }, 200, replayed ? REPLAYED : undefined);
    },
  };
}
