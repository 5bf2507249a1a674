// The hot ranking route.

import { json } from "../pipeline.ts";
import { parseRanking } from "../validation.ts";
import { type HandlerDeps, param, type RouteHandlers } from "./context.ts";

export function rankingHandlers(d: HandlerDeps): Pick<RouteHandlers, "hot"> {
  return {
    hot: async (c) => {
      await d.guards.requireReadKey(c);
      const query = parseRanking(
        param(c, "counter_type"),
        c.req.query("limit"),
        c.req.query("period"),
        d.counterTypes,
      );
      if (d.guards.limiting) await d.guards.checkLimits(c);
      const items = await d.pipeline.timed(c, d.store.ranking({ ...query, now: d.now() }));
      const data = {
        counter_type: query.type,
        period: query.period,
        items: items.map((item) => ({ resource_id: item.resourceId, count: item.count })),
      };
      return json(c, { success: true, data });
    },
  };
}
