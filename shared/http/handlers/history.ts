// The history routes: a counter's net change on each of the last days, as JSON and as a
// sparkline (SVG), one store call each.

import type { CounterHistory } from "../../domain/history.ts";
import { json, respond } from "../pipeline.ts";
import { type HandlerDeps, kindOf, type RouteHandlers } from "./context.ts";
import { escapeXml, svgHeadersFor } from "./svg.ts";

const WIDTH = 200;
const HEIGHT = 40;
const PAD = 3;

/** The polyline's points: one per day, left to right, the highest change at the top (0 included in the scale). */
function pointsOf(deltas: readonly number[]): string {
  const top = Math.max(0, ...deltas);
  const bottom = Math.min(0, ...deltas);
  const span = top - bottom || 1;
  // One day is drawn as a flat line across.
  const values = deltas.length === 1 ? [deltas[0] as number, deltas[0] as number] : deltas;
  const step = (WIDTH - 2 * PAD) / (values.length - 1);
  return values
    .map((v, i) => {
      const x = PAD + i * step;
      const y = PAD + ((top - v) / span) * (HEIGHT - 2 * PAD);
      return `${Math.round(x * 10) / 10},${Math.round(y * 10) / 10}`;
    })
    .join(" ");
}

/** A sparkline of each day's change, sized for a README; its title says what it shows. */
export function sparklineSvg(type: string, resourceId: string, history: CounterHistory): string {
  const deltas = history.days.map((d) => d.delta);
  const sum = deltas.reduce((a, b) => a + b, 0);
  const title = escapeXml(`${type} of ${resourceId}: ${sum >= 0 ? "+" : ""}${sum} in ${deltas.length} days`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${title}"><title>${title}</title><polyline fill="none" stroke="#007ec6" stroke-width="2" stroke-linejoin="round" points="${pointsOf(deltas)}"/></svg>\n`;
}

export function historyHandlers(d: HandlerDeps): Pick<RouteHandlers, "history" | "historySvg"> {
  const { store, counterTypes, pipeline, now } = d;
  const headers = svgHeadersFor(d.readAuth);
  const read = (c: Parameters<RouteHandlers["history"]>[0], type: string, resourceId: string, days: number) =>
    pipeline.timed(
      c,
      store.history({ resourceId, type, kind: kindOf(counterTypes, type), days, now: now() }),
    );
  return {
    history: async (c, { params, query }) => {
      const { count, days } = await read(c, params.counter_type, params.resource_id, query.days);
      const data = { resource_id: params.resource_id, counter_type: params.counter_type, count, days };
      return json(c, { success: true, data });
    },
    historySvg: async (c, { params, query }) => {
      const history = await read(c, params.counter_type, params.resource_id, query.days);
      return respond(c, sparklineSvg(params.counter_type, params.resource_id, history), 200, headers);
    },
  };
}
