// Lambda entry point: POST /api/v1/counter/batch.
// Built once per execution environment; Lambda's init phase awaits the start.

import { createLambdaHandler } from "../shared/runtime/lambda.ts";

export const handler = createLambdaHandler(["batch"]);
await handler.warm;
