// Lambda entry point of GetFunction: the routes the route table (shared/http/routes.ts) gives it,
// and, as API Gateway's catch-all, the JSON 404 or 405 of whatever no route matches.
// Built once per execution environment; Lambda's init phase awaits the start.

import { createLambdaHandler } from "../shared/runtime/lambda.ts";

export const handler = createLambdaHandler("GetFunction");
await handler.warm;
