// Lambda entry point of GetFunction: the routes the route table (shared/http/routes.ts) gives it
// (health, the single read, the ranking, the badge, the history), from only their handler modules, and, as
// API Gateway's catch-all, the JSON 404 or 405 of whatever no route matches. Built once per
// execution environment; Lambda's init phase awaits the start.

import { badgeHandlers } from "../shared/http/handlers/badge.ts";
import { healthHandlers } from "../shared/http/handlers/health.ts";
import { historyHandlers } from "../shared/http/handlers/history.ts";
import { rankingHandlers } from "../shared/http/handlers/ranking.ts";
import { readHandlers } from "../shared/http/handlers/reads.ts";
import { createLambdaHandler } from "../shared/runtime/lambda.ts";

export const handler = createLambdaHandler("GetFunction", [
  healthHandlers,
  readHandlers,
  rankingHandlers,
  badgeHandlers,
  historyHandlers,
]);
await handler.warm;
