// Lambda entry point: POST /api/v1/counter/increment.
// Built once per execution environment; Lambda's init phase awaits the start.

import { createLambdaHandler } from "../shared/runtime/lambda.ts";

export const handler = createLambdaHandler(["increment"]);
await handler.warm;
