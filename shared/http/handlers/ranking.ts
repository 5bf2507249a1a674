// The hot ranking route.

import { json } from "../pipeline.ts";
import type { HandlerDeps, RouteHandlers } from "./context.ts";

export function rankingHandlers(d: HandlerDeps): Pick<RouteHandlers, "hot"> {
  return {
    hot: async (c, { params, query }) => {
      const ranking = { type: params.counter_type, period: query.period, limit: query.limit, now: d.now() };
      const items = await d.pipeline.timed(c, d.store.ranking(ranking));
      const data = {
        counter_type: ranking.type,
        period: ranking.period,
        items: items.map((item) => ({ resource_id: item.resourceId, count: item.count })),
      };
      return json(c, { success: true, data });
    },
  };
}
