// Lambda entry point of AdminFunction: the operator's routes of the route table (set, reset,
// erase a user), apart from the public API's functions so that only it reads ADMIN_KEYS.
// Built once per execution environment; Lambda's init phase awaits the start.

import { adminHandlers } from "../shared/http/handlers/admin.ts";
import { createLambdaHandler } from "../shared/runtime/lambda.ts";

export const handler = createLambdaHandler("AdminFunction", [adminHandlers]);
await handler.warm;
