// The Lambda functions, one map for all who name them: functions/<short>.ts, the bundler, the
// stack, the route table (which function serves each route) and the tools.

/** Each function by its construct id, with the short name of its entry point (`functions/<short>.ts`). */
export const FUNCTIONS = {
  IncrementFunction: "increment",
  GetFunction: "get",
  BatchFunction: "batch",
  AdminFunction: "admin",
  EventsFunction: "events",
  ConsumerFunction: "consume",
  WatchFunction: "watch",
  PublishFunction: "publish",
} as const;
export type FunctionId = keyof typeof FUNCTIONS;
export const FUNCTION_IDS = Object.keys(FUNCTIONS) as FunctionId[];

/**
 * The functions behind no HTTP route: the events queue's consumer (an SQS event source), and
 * live counts' watcher (a schedule) and publisher (the live queue's event source).
 */
export const NON_HTTP_FUNCTION_IDS = [
  "ConsumerFunction",
  "WatchFunction",
  "PublishFunction",
] as const satisfies readonly FunctionId[];
/** The functions that serve routes of the route table. */
export type HttpFunctionId = Exclude<FunctionId, (typeof NON_HTTP_FUNCTION_IDS)[number]>;
/** The functions that read no store (and so sit in no VPC, carry no store secret): the live publisher. */
export const STORELESS_FUNCTION_IDS: readonly FunctionId[] = ["PublishFunction"];
