// The badge route: a counter's count as a flat SVG badge (shields.io's look), a read like GET.

import { respond } from "../pipeline.ts";
import { BADGE_COLORS } from "../schemas.ts";
import { type HandlerDeps, kindOf, type RouteHandlers } from "./context.ts";
import { escapeXml, svgHeadersFor } from "./svg.ts";

export { escapeXml };

const UNITS = ["k", "M", "B", "T"] as const;

/** 999 → `999`, 1234 → `1.2k`, 12345 → `12k`, 1234567 → `1.2M`: truncated, never overstated. */
export function abbreviate(count: number): string {
  if (count < 1000) return String(count);
  let unit = 0;
  let value = count / 1000;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const shown = value < 10 ? Math.floor(value * 10) / 10 : Math.floor(value);
  return `${shown}${UNITS[unit]}`;
}

/** Verdana 11px averages about 7 px a character; each half gets 10 px of padding. */
const widthOf = (text: string) => Math.round([...text].length * 7 + 10);

/** A flat badge: the label on grey, the value on the colour. */
export function badgeSvg(label: string, value: string, color: string): string {
  const lw = widthOf(label);
  const vw = widthOf(value);
  const w = lw + vw;
  const [l, v] = [escapeXml(label), escapeXml(value)];
  const text = (x: number, t: string) =>
    `<text x="${x}" y="15" fill="#010101" fill-opacity=".3">${t}</text><text x="${x}" y="14">${t}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${l}: ${v}"><title>${l}: ${v}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${vw}" height="20" fill="${color}"/><rect width="${w}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">${text(lw / 2, l)}${text(lw + vw / 2, v)}</g></svg>\n`;
}

export function badgeHandlers(d: HandlerDeps): Pick<RouteHandlers, "badge"> {
  const { store, counterTypes, pipeline } = d;
  const headers = svgHeadersFor(d.readAuth);
  return {
    badge: async (c, { params, query }) => {
      const type = params.counter_type;
      const counter = { resourceId: params.resource_id, type, kind: kindOf(counterTypes, type) };
      const [reading] = await pipeline.timed(c, store.read([counter]));
      const color = BADGE_COLORS.get(query.color) ?? `#${query.color}`;
      return respond(c, badgeSvg(query.label ?? type, abbreviate(reading?.count ?? 0), color), 200, headers);
    },
  };
}
