// Lambda entry point of BatchFunction: the batch read the route table (shared/http/routes.ts)
// gives it, from only its handler module. Built once per execution environment; Lambda's
// init phase awaits the start.

import { batchHandlers } from "../shared/http/handlers/batch.ts";
import { createLambdaHandler } from "../shared/runtime/lambda.ts";

export const handler = createLambdaHandler("BatchFunction", [batchHandlers]);
await handler.warm;
