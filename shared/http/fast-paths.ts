// Hand-written checks for the bodies on the hot path, each attached to its route in the table
// (routes.ts): a valid body accepted at a fraction of zod's cost, answered as the route's
// schema would answer it; anything else undefined, and the schema then explains what is
// wrong. One property test over the whole table (tests/properties/fast-paths.test.ts) holds
// every fast path to its schema's answer.

import type { CounterTypes } from "../domain/model.ts";
import { EVENT_ID, IDENTIFIER, MAX_BATCH, takesIncrement } from "./schemas.ts";

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isIdentifier = (value: unknown): value is string => typeof value === "string" && IDENTIFIER.test(value);

export interface IncrementItem {
  resource_id: string;
  counter_type: string;
  user_id: string;
  increment: number;
}

/** A valid increment as its schema outputs it (`increment` defaults to 1), or undefined. */
export function acceptIncrement(body: unknown, types: CounterTypes): IncrementItem | undefined {
  if (!isObject(body)) return undefined;
  const { resource_id, counter_type, user_id, increment } = body;
  if (!isIdentifier(resource_id) || !isIdentifier(user_id) || typeof counter_type !== "string")
    return undefined;
  const kind = types.get(counter_type);
  const delta = increment === undefined ? 1 : increment;
  if (kind === undefined || typeof delta !== "number" || !Number.isSafeInteger(delta)) return undefined;
  if (!takesIncrement(kind, delta)) return undefined;
  return { resource_id, counter_type, user_id, increment: delta };
}

/** The items of a valid batch, each accepted by `accept`, or undefined. */
function acceptItems<T>(items: unknown, accept: (item: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_BATCH) return undefined;
  const accepted: T[] = [];
  for (const item of items) {
    const one = accept(item);
    if (one === undefined) return undefined;
    accepted.push(one);
  }
  return accepted;
}

export function acceptIncrements(
  body: unknown,
  types: CounterTypes,
): { increments: IncrementItem[] } | undefined {
  if (!isObject(body)) return undefined;
  const increments = acceptItems(body.increments, (item) => acceptIncrement(item, types));
  return increments && { increments };
}

export function acceptEvents(
  body: unknown,
  types: CounterTypes,
): { events: (IncrementItem & { event_id?: string })[] } | undefined {
  if (!isObject(body)) return undefined;
  const events = acceptItems(body.events, (item) => {
    const event_id = isObject(item) ? item.event_id : undefined;
    if (event_id !== undefined && (typeof event_id !== "string" || !EVENT_ID.test(event_id))) {
      return undefined;
    }
    const accepted = acceptIncrement(item, types);
    return accepted && (event_id === undefined ? accepted : { ...accepted, event_id });
  });
  return events && { events };
}

export function acceptBatch(
  body: unknown,
  types: CounterTypes,
): { queries: { resource_id: string; counter_type: string }[] } | undefined {
  if (!isObject(body)) return undefined;
  const queries = acceptItems(body.queries, (q) => {
    if (!isObject(q)) return undefined;
    const { resource_id, counter_type } = q;
    if (!isIdentifier(resource_id) || typeof counter_type !== "string" || !types.has(counter_type)) {
      return undefined;
    }
    return { resource_id, counter_type };
  });
  return queries && { queries };
}
