// Queued events as the queue carries them: one message per accepted POST, JSON, decoded
// strictly (a message that is not what the service wrote is refused, never guessed at), and
// grouped per counter for a consumer to apply each counter's events in one store call.

import type { QueuedEvent } from "./model.ts";

/** Events of one counter per store call at most: a script's arguments stay bounded. */
export const MAX_EVENTS_PER_CALL = 1000;

interface WireEvent {
  id: string;
  r: string;
  t: string;
  k: "u" | "t";
  u: string;
  d: number;
}

export function encodeEvents(events: readonly QueuedEvent[], acceptedAt: number): string {
  const wire: WireEvent[] = events.map((e) => ({
    id: e.eventId,
    r: e.resourceId,
    t: e.type,
    k: e.kind === "unique" ? "u" : "t",
    u: e.userId,
    d: e.delta,
  }));
  return JSON.stringify({ v: 1, at: acceptedAt, events: wire });
}

const isWireEvent = (e: unknown): e is WireEvent => {
  const w = e as WireEvent;
  return (
    typeof w === "object" &&
    w !== null &&
    [w.id, w.r, w.t, w.u].every((s) => typeof s === "string" && s.length > 0) &&
    (w.k === "u" || w.k === "t") &&
    Number.isSafeInteger(w.d)
  );
};

/**
 * A message's events, each with when its POST was accepted (the day its history records);
 * throws for anything the service did not write.
 */
export function decodeEvents(message: string): QueuedEvent[] {
  const parsed = JSON.parse(message) as { v?: unknown; at?: unknown; events?: unknown };
  if (parsed?.v !== 1 || !Array.isArray(parsed.events) || !parsed.events.every(isWireEvent)) {
    throw new Error("not a HighPress events message");
  }
  if (parsed.at !== undefined && !(Number.isSafeInteger(parsed.at) && (parsed.at as number) >= 0)) {
    throw new Error("not a HighPress events message: at is not a time in ms");
  }
  const acceptedAt = parsed.at as number | undefined;
  return parsed.events.map((w) => ({
    eventId: w.id,
    resourceId: w.r,
    type: w.t,
    kind: w.k === "u" ? "unique" : "total",
    userId: w.u,
    delta: w.d,
    ...(acceptedAt === undefined ? {} : { acceptedAt }),
  }));
}

/** Events grouped per counter, in order, each group at most MAX_EVENTS_PER_CALL. */
export function groupByCounter(events: readonly QueuedEvent[]): QueuedEvent[][] {
  const groups = new Map<string, QueuedEvent[][]>();
  for (const e of events) {
    const key = `${e.type}\n${e.resourceId}`;
    const chunks = groups.get(key) ?? [];
    const last = chunks[chunks.length - 1];
    if (last && last.length < MAX_EVENTS_PER_CALL) last.push(e);
    else chunks.push([e]);
    groups.set(key, chunks);
  }
  return [...groups.values()].flat();
}
