// The counter routes: increment, read one, read a batch.

import type { CounterReading } from "../../domain/model.ts";
import { readJson } from "../body.ts";
import { json } from "../pipeline.ts";
import {
  parseBatch,
  parseIdempotencyKey,
  parseIncrement,
  parseIncrements,
  parseRead,
} from "../validation.ts";
import { type HandlerDeps, param, type RouteHandlers } from "./context.ts";

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

export function counterHandlers(
  d: HandlerDeps,
): Pick<RouteHandlers, "increment" | "incrementMany" | "getCounter" | "batch"> {
  const { store, counterTypes, guards, pipeline } = d;
  return {
    increment: async (c) => {
      await guards.requireWriteKey(c);
      const idempotencyKey = parseIdempotencyKey(c.req.header("idempotency-key"));
      const request = parseIncrement(await readJson(c, d.maxBodyBytes, d.platform), counterTypes);
      const outcome = await pipeline.timed(
        c,
        store.increment({
          ...request,
          now: d.now(),
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
          ...(guards.limiting ? { limits: guards.limitsFor(c, request.userId) } : {}),
        }),
      );
      const data = {
        resource_id: request.resourceId,
        counter_type: request.type,
        count: outcome.count,
        success: true,
        applied: outcome.applied,
      };
      return json(
        c,
        { success: true, data },
        200,
        outcome.replayed ? { "idempotent-replayed": "true" } : undefined,
      );
    },
    incrementMany: async (c) => {
      await guards.requireWriteKey(c);
      const idempotencyKey = parseIdempotencyKey(c.req.header("idempotency-key"));
      const requests = parseIncrements(await readJson(c, d.maxBodyBytes, d.platform), counterTypes);
      const now = d.now();
      // Each item remembers its own answer under the request's key, so a retry after a
      // failure half way applies only what did not apply.
      const commands = requests.map((r, i) => ({
        ...r,
        now,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey: `${idempotencyKey}#${i}` }),
      }));
      const limits = guards.limiting
        ? guards.batchLimitsFor(
            c,
            requests.map((r) => r.userId),
            "increments",
          )
        : [];
      const outcomes = await pipeline.timed(c, store.incrementMany(commands, limits, now));
      const data = requests.map((r, i) => ({
        resource_id: r.resourceId,
        counter_type: r.type,
        count: outcomes[i]?.count ?? 0,
        success: true,
        applied: outcomes[i]?.applied ?? false,
      }));
      const replayed = outcomes.every((o) => o.replayed);
      return json(c, { success: true, data }, 200, replayed ? { "idempotent-replayed": "true" } : undefined);
    },
    batch: async (c) => {
      await guards.requireReadKey(c);
      const refs = parseBatch(await readJson(c, d.maxBodyBytes, d.platform), counterTypes);
      if (guards.limiting) await guards.checkLimits(c);
      const readings = await pipeline.timed(c, store.read(refs));
      const data = refs.map((ref, i) => ({
        resource_id: ref.resourceId,
        counter_type: ref.type,
        count: readings[i]?.count ?? 0,
      }));
      return json(c, { success: true, data });
    },
    getCounter: async (c) => {
      await guards.requireReadKey(c);
      const request = parseRead(
        param(c, "resource_id"),
        param(c, "counter_type"),
        c.req.query("user_id"),
        counterTypes,
      );
      if (guards.limiting) await guards.checkLimits(c);
      const [reading] = await pipeline.timed(c, store.read([{ ...request, detail: true }]));
      return json(c, { success: true, data: counterData(request, reading) });
    },
  };
}
