// The operator's routes: set and reset a counter, erase a user. Each needs an admin key (the
// mount loop checks it), is logged with the key's digest (never the key), and answers what
// GET would show after it.

import type { Context } from "hono";
import type { CounterKey } from "../../domain/model.ts";
import { HttpError } from "../http-errors.ts";
import { json } from "../pipeline.ts";
import { type HandlerDeps, kindOf, type RouteHandlers } from "./context.ts";
import { counterData } from "./reads.ts";

export function adminHandlers(
  d: HandlerDeps,
): Pick<RouteHandlers, "setCounter" | "resetCounter" | "eraseUser"> {
  const { store, counterTypes, pipeline, logger } = d;
  const counterOf = (params: { resource_id: string; counter_type: string }): CounterKey => ({
    resourceId: params.resource_id,
    type: params.counter_type,
    kind: kindOf(counterTypes, params.counter_type),
  });
  /** The counter as GET shows it (a total with its unique users). */
  const shown = async (c: Context, counter: CounterKey) => {
    const [reading] = await pipeline.timed(c, store.read([{ ...counter, detail: true }]));
    return json(c, { success: true, data: counterData(counter, reading) });
  };
  const audit = (c: Context, action: string, digest: string, fields: Record<string, unknown>) =>
    logger.info("admin", { action, key_digest: digest, request_id: c.get("requestId"), ...fields });
  return {
    setCounter: async (c, { params, body, adminDigest }) => {
      const counter = counterOf(params);
      if (counter.kind === "unique") {
        throw new HttpError(
          409,
          `counter_type: ${counter.type} is a unique type: its count is its set of users, changed only by increments`,
          { details: [{ path: "counter_type", message: "a unique type cannot be set" }] },
        );
      }
      await pipeline.timed(c, store.setCount(counter, body.count, d.now()));
      audit(c, "set", adminDigest, {
        resource_id: counter.resourceId,
        counter_type: counter.type,
        count: body.count,
      });
      return shown(c, counter);
    },
    resetCounter: async (c, { params, adminDigest }) => {
      const counter = counterOf(params);
      await pipeline.timed(c, store.reset(counter, d.now()));
      audit(c, "reset", adminDigest, { resource_id: counter.resourceId, counter_type: counter.type });
      return shown(c, counter);
    },
    eraseUser: async (c, { params, adminDigest }) => {
      const removed = await pipeline.timed(c, store.eraseUser(params.user_id, d.now()));
      // The user_id itself is what is being erased: the log names it by digest only.
      audit(c, "erase user", adminDigest, { removed });
      return json(c, { success: true, data: { user_id: params.user_id, removed } });
    },
  };
}
