// A counter's channel on AWS AppSync Events: `/counters/{counter_type}/{resource_id}`, each
// part written in what a channel segment allows (letters, digits and `-`, at most 50 a
// segment, at most 5 segments). Letters and digits stay; any other character is `-` and its
// two hex digits (`_` is `-5f`, `-` is `-2d`), so two counters never share a channel. An id
// whose written form passes the three segments left is named by its SHA-256 instead
// (`-h` and 40 hex digits: `-h` is never an escape). The publisher and the typed client both
// name channels here.

/** The channel namespace of live counts. */
export const LIVE_NAMESPACE = "counters";
const SEGMENT = 50;
/** Segments a resource id may take: five in all, less the namespace and the type. */
const RESOURCE_SEGMENTS = 3;

const escapeChars = (text: string): string =>
  text.replace(/[^A-Za-z0-9]/g, (ch) =>
    [...new TextEncoder().encode(ch)].map((b) => `-${b.toString(16).padStart(2, "0")}`).join(""),
  );

async function digest(text: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(hash)]
    .slice(0, 20)
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Cuts a written id into segments of at most 50. */
function segments(written: string): string[] {
  const out: string[] = [];
  for (let at = 0; at < written.length; at += SEGMENT) out.push(written.slice(at, at + SEGMENT));
  return out;
}

/** The AppSync Events channel of a counter. */
export async function liveChannel(type: string, resourceId: string): Promise<string> {
  const written = escapeChars(resourceId);
  const resource = written.length <= SEGMENT * RESOURCE_SEGMENTS ? written : `-h${await digest(resourceId)}`;
  const typePart = escapeChars(type);
  return `/${LIVE_NAMESPACE}/${[typePart, ...segments(resource)].join("/")}`;
}
