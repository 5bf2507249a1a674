// The operator's routes: set and reset a counter, erase a user. Each needs an admin key, is
// logged with the key's digest (never the key), and answers what GET would show after it.

import type { Context } from "hono";
import * as z from "zod/mini";
import type { CounterKey } from "../../domain/model.ts";
import { readJson } from "../body.ts";
import { HttpError, ValidationError } from "../http-errors.ts";
import { json } from "../pipeline.ts";
import { SetCountBody } from "../schemas.ts";
import { parseRead, parseUserId } from "../validation.ts";
import { type HandlerDeps, param, type RouteHandlers } from "./context.ts";
import { counterData } from "./counters.ts";

export function adminHandlers(
  d: HandlerDeps,
): Pick<RouteHandlers, "setCounter" | "resetCounter" | "eraseUser"> {
  const { store, counterTypes, guards, pipeline, logger } = d;
  const counterOf = (c: Context): CounterKey => {
    const { resourceId, type, kind } = parseRead(
      param(c, "resource_id"),
      param(c, "counter_type"),
      undefined,
      counterTypes,
    );
    return { resourceId, type, kind };
  };
  /** The counter as GET shows it (a total with its unique users). */
  const shown = async (c: Context, counter: CounterKey) => {
    const [reading] = await pipeline.timed(c, store.read([{ ...counter, detail: true }]));
    return json(c, { success: true, data: counterData(counter, reading) });
  };
  const audit = (c: Context, action: string, digest: string, fields: Record<string, unknown>) =>
    logger.info("admin", { action, key_digest: digest, request_id: c.get("requestId"), ...fields });
  return {
    setCounter: async (c) => {
      const digest = await guards.requireAdminKey(c);
      const counter = counterOf(c);
      const body = z.safeParse(SetCountBody, await readJson(c, d.maxBodyBytes, d.platform));
      if (!body.success) {
        throw new ValidationError(
          body.error.issues.map((i) => ({
            path: i.path.map(String).join(".") || "body",
            message: i.message,
          })),
        );
      }
      if (counter.kind === "unique") {
        throw new HttpError(
          409,
          `counter_type: ${counter.type} is a unique type: its count is its set of users, changed only by increments`,
          {
            details: [{ path: "counter_type", message: "a unique type cannot be set" }],
          },
        );
      }
      await pipeline.timed(c, store.setCount(counter, body.data.count, d.now()));
      audit(c, "set", digest, {
        resource_id: counter.resourceId,
        counter_type: counter.type,
        count: body.data.count,
      });
      return shown(c, counter);
    },
    resetCounter: async (c) => {
      const digest = await guards.requireAdminKey(c);
      const counter = counterOf(c);
      await pipeline.timed(c, store.reset(counter, d.now()));
      audit(c, "reset", digest, { resource_id: counter.resourceId, counter_type: counter.type });
      return shown(c, counter);
    },
    eraseUser: async (c) => {
      const digest = await guards.requireAdminKey(c);
      const userId = parseUserId(param(c, "user_id"));
      const removed = await pipeline.timed(c, store.eraseUser(userId, d.now()));
      // The user_id itself is what is being erased: the log names it by digest only.
      audit(c, "erase user", digest, { removed });
      return json(c, { success: true, data: { user_id: userId, removed } });
    },
  };
}
