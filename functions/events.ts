// Lambda entry point of EventsFunction: POST /api/v1/counter/events validated as the app
// validates it, then sent to the SQS queue (EVENTS_QUEUE_URL), answered 202. An HTTP API
// cannot validate a body itself, so this small function stands where an SQS-SendMessage
// integration would, and alone may send to the queue.

import { eventHandlers } from "../shared/http/handlers/events.ts";
import { createLambdaHandler } from "../shared/runtime/lambda.ts";

export const handler = createLambdaHandler("EventsFunction", [eventHandlers]);
await handler.warm;
