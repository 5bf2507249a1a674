// What every route handler is built from: the store, the settings and the pipeline, made
// once per app. Auth, input and rate limits are the mount loop's (execute.ts): a handler is
// handed its input checked and typed.

import type { Context } from "hono";
import type { Logger } from "../../domain/logger.ts";
import type { CounterKind, CounterStore, CounterTypes, EventQueue } from "../../domain/model.ts";
import type { LiveStreams } from "../live-streams.ts";
import type { Pipeline } from "../pipeline.ts";

export type { RouteHandler, RouteHandlers } from "../execute.ts";

export interface HandlerDeps {
  store: CounterStore;
  /** Where accepted events wait to be counted. */
  eventQueue: EventQueue;
  counterTypes: CounterTypes;
  logger: Logger;
  now: () => number;
  pipeline: Pipeline;
  /** Whether reads need a key (READ_AUTH): what they answer is then private. */
  readAuth: boolean;
  /** The client's address, as the platform knows it. */
  clientAddress: (c: Context) => string | undefined;
  /** The live streams and their limits (the local server's); default: made over the store's changes. */
  live?: LiveStreams;
}

/** The kind of a counter type the route's schema accepted (so it is a configured one). */
export function kindOf(types: CounterTypes, type: string): CounterKind {
  const kind = types.get(type);
  if (kind === undefined) throw new Error(`counter type ${type} passed validation but is not configured`);
  return kind;
}
