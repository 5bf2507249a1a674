// What every route handler is built from: the store, the settings, the guards and the
// pipeline, made once per app.

import type { Context } from "hono";
import type { Logger } from "../../domain/logger.ts";
import type { CounterStore, CounterTypes, EventQueue } from "../../domain/model.ts";
import type { Guards } from "../guards.ts";
import type { Handler, Pipeline, Platform } from "../pipeline.ts";
import type { RouteId } from "../routes.ts";

export interface HandlerDeps {
  store: CounterStore;
  /** Where accepted events wait to be counted. */
  eventQueue: EventQueue;
  counterTypes: CounterTypes;
  maxBodyBytes: number;
  logger: Logger;
  now: () => number;
  guards: Guards;
  pipeline: Pipeline;
  platform: Platform;
}

/** One handler per route of the table. */
export type RouteHandlers = Record<RouteId, Handler>;

/** A path parameter Hono matched; the route table guarantees it is there. */
export const param = (c: Context, name: string): string => c.req.param(name) ?? "";
