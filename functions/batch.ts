// Lambda entry point of BatchFunction: the routes the route table (shared/http/routes.ts) gives it.
// Built once per execution environment; Lambda's init phase awaits the start.

import { createLambdaHandler } from "../shared/runtime/lambda.ts";

export const handler = createLambdaHandler("BatchFunction");
await handler.warm;
