// Lambda entry point of WatchFunction: run each minute by a schedule, it hears every counter's
// changes in the store and relays each interval's latest counts to the live queue.

import { createLiveWatcher } from "../shared/runtime/live-functions.ts";

export const handler = createLiveWatcher();
