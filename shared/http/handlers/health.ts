// The health route: the service, and with deep=1 the store too: whether it answers, and
// whether it would take a write (a probe refused exactly where a write is).

import { StoreUnavailableError } from "../../domain/errors.ts";
import { envelope, RETRY_AFTER_SECONDS } from "../http-errors.ts";
import { json } from "../pipeline.ts";
import { VERSION } from "../version.ts";
import type { HandlerDeps, RouteHandlers } from "./context.ts";

export function healthHandlers(d: HandlerDeps): Pick<RouteHandlers, "health"> {
  return {
    health: async (c, { query }) => {
      const body: Record<string, unknown> = {
        status: "ok",
        service: "highpress",
        version: VERSION,
        store: d.store.name,
      };
      const deep = query.deep;
      if (deep === undefined || deep === "0" || deep === "false") return json(c, body);
      const started = performance.now();
      try {
        await d.pipeline.timed(c, d.store.ping());
      } catch (error) {
        d.logger.warn("deep health check failed", { error });
        const refusal = error instanceof StoreUnavailableError ? error.refusal : undefined;
        const state =
          refusal === undefined
            ? { status: "unavailable", message: "The counter store is unreachable" }
            : {
                status: "degraded",
                store_error: refusal,
                message: `The counter store answers but refuses writes: ${refusal}`,
              };
        const failure = envelope({ status: 503, message: state.message });
        return json(c, { ...body, ...state, ...failure }, 503, { "retry-after": RETRY_AFTER_SECONDS });
      }
      body.store_latency_ms = Math.round((performance.now() - started) * 100) / 100;
      return json(c, body);
    },
  };
}
