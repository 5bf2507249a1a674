// Lambda entry point: GET /health, GET /api/v1/counter/{resource_id}/{counter_type}, GET /api/v1/counter/hot/{counter_type}, and unmatched requests (JSON 404/405).
// Built once per execution environment; Lambda's init phase awaits the start.

import { createLambdaHandler } from "../shared/runtime/lambda.ts";

export const handler = createLambdaHandler(["health", "read", "ranking"]);
await handler.warm;
