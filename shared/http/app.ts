// The whole app, every route's handler: what the local server and the tests serve. A Lambda
// function composes only its own handler modules instead (functions/*.ts).

import type { HttpFunctionId } from "../domain/functions.ts";
import { adminHandlers } from "./handlers/admin.ts";
import { badgeHandlers } from "./handlers/badge.ts";
import { batchHandlers } from "./handlers/batch.ts";
import { eventHandlers } from "./handlers/events.ts";
import { healthHandlers } from "./handlers/health.ts";
import { historyHandlers } from "./handlers/history.ts";
import { incrementHandlers } from "./handlers/increments.ts";
import { liveHandlers } from "./handlers/live.ts";
import { rankingHandlers } from "./handlers/ranking.ts";
import { readHandlers } from "./handlers/reads.ts";
import { type AppDeps, composeApp, type HandlerFactory, type HighPressApp } from "./http-app.ts";

/** Every handler module. */
export const ALL_HANDLERS: readonly HandlerFactory[] = [
  healthHandlers,
  incrementHandlers,
  eventHandlers,
  batchHandlers,
  rankingHandlers,
  readHandlers,
  badgeHandlers,
  historyHandlers,
  liveHandlers,
  adminHandlers,
];

/** The app with every route (or, with `fn`, that function's routes). */
export const createApp = (deps: AppDeps, fn?: HttpFunctionId): HighPressApp =>
  composeApp(deps, ALL_HANDLERS, fn);
