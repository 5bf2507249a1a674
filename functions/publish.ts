// Lambda entry point of PublishFunction: fed by the live queue, it publishes each counter's
// latest count to its AppSync Events channel. It reads no store and sits in no VPC.

import { createLivePublisher } from "../shared/runtime/live-functions.ts";

export const handler = createLivePublisher();
