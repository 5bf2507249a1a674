// The counter routes: increment (one or a batch), read one, read a batch.

import type { CounterReading } from "../../domain/model.ts";
import type { IncrementItem } from "../fast-paths.ts";
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

const REPLAYED = { "idempotent-replayed": "true" };

export function counterHandlers(
  d: HandlerDeps,
): Pick<RouteHandlers, "increment" | "incrementMany" | "getCounter" | "batch"> {
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
      const key = headers["Idempotency-Key"];
      // Each item remembers its own answer under the request's key, so a retry after a
      // failure half way applies only what did not apply.
      const commands = body.increments.map((item, i) =>
        command(item, now, key === undefined ? undefined : `${key}#${i}`),
      );
      const outcomes = await pipeline.timed(c, store.incrementMany(commands, limits, now));
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
