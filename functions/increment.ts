// Lambda entry point of IncrementFunction: the routes the route table (shared/http/routes.ts)
// gives it (one increment, a batch of them), from only their handler module. Built once per
// execution environment; Lambda's init phase awaits the start.

import { incrementHandlers } from "../shared/http/handlers/increments.ts";
import { createLambdaHandler } from "../shared/runtime/lambda.ts";

export const handler = createLambdaHandler("IncrementFunction", [incrementHandlers]);
await handler.warm;
