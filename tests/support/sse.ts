// Reads a Server-Sent Events response as a test needs it: each event's fields, waiting (with a
// deadline) for the n-th; comments (heartbeats) kept apart.

export interface SseEvent {
  id?: string;
  retry?: string;
  data?: string;
}

export interface SseReader {
  events: SseEvent[];
  comments: string[];
  /** The counts of the events so far (their data's `count`). */
  counts(): number[];
  /** Waits until `n` events arrived (or `ms` passed); returns them. */
  until(n: number, ms?: number): Promise<SseEvent[]>;
  /** Whether the stream ended (the server closed it). */
  ended(): boolean;
  cancel(): Promise<void>;
}

export function readSse(res: Response): SseReader {
  if (!res.body) throw new Error("no body to read");
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let buffer = "";
  let done = false;
  let wake: (() => void) | undefined;
  const parse = (block: string) => {
    const event: SseEvent = {};
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) comments.push(line.slice(1).trim());
      const [field, ...rest] = line.split(": ");
      const value = rest.join(": ");
      if (field === "id" || field === "retry" || field === "data") event[field] = value;
    }
    if (Object.keys(event).length > 0) events.push(event);
  };
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        buffer += decoder.decode(value, { stream: true });
        let at = buffer.indexOf("\n\n");
        while (at >= 0) {
          parse(buffer.slice(0, at));
          buffer = buffer.slice(at + 2);
          at = buffer.indexOf("\n\n");
        }
        wake?.();
      }
    } catch {
      // cancelled
    }
    done = true;
    wake?.();
  })();
  return {
    events,
    comments,
    counts: () => events.map((e) => (JSON.parse(e.data ?? "{}") as { count: number }).count),
    async until(n, ms = 3000) {
      const deadline = Date.now() + ms;
      while (events.length < n && !done && Date.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, 50);
        });
        clearTimeout(timer);
      }
      return [...events];
    },
    ended: () => done,
    async cancel() {
      await reader.cancel().catch(() => {});
      await pump;
    },
  };
}

/** A stream's first event as sent (its lines up to the blank line), the stream then cancelled. */
export async function firstEventText(res: Response): Promise<string> {
  if (!res.body) throw new Error("no body to read");
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("\n\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text.slice(0, text.indexOf("\n\n") + 2);
}
