// Reading a request's JSON body at the edge: the content type and encoding checked, the size
// limit enforced before anything is parsed (from Content-Length before a byte is read, and
// while reading when there is none), and the platform's own copy used when it has one.

import type { Context } from "hono";
import { HttpError, tooLarge, ValidationError } from "./http-errors.ts";
import type { Platform } from "./pipeline.ts";

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

function checkedSize(text: string, max: number): string {
  if (text.length > max || Buffer.byteLength(text) > max) throw tooLarge(max);
  return text;
}

/** Reads the body as text, refusing more than `max` bytes before anything is parsed. */
async function readBody(request: Request, max: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (Number(declared) > max) throw tooLarge(max);
    // With a length the server frames the body by it, so the runtime's own text() (a fast
    // path on @hono/node-server, with no web stream) reads at most `max` bytes. The check
    // after it covers runtimes that do not enforce the header.
    return checkedSize(await request.text(), max);
  }
  if (!request.body) return "";
  // No length (chunked): count while reading and stop at the limit.
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks, size));
}

/** The request's JSON body, or the 400/413/415 that says why not. */
export async function readJson(c: Context, max: number, platform: Platform): Promise<unknown> {
  const type = c.req.header("content-type");
  if (type !== undefined && !JSON_TYPE.test(type)) {
    throw new HttpError(415, `Content-Type: must be application/json, got ${type.slice(0, 64)}`);
  }
  const encoding = c.req.header("content-encoding");
  if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") {
    throw new HttpError(
      415,
      `Content-Encoding: must be identity (no compression), got ${encoding.slice(0, 64)}`,
      {
        details: [{ path: "Content-Encoding", message: "must be identity" }],
      },
    );
  }
  const held = platform.bodyText?.(c);
  const text = held !== undefined ? checkedSize(held, max) : await readBody(c.req.raw, max);
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError([{ path: "body", message: "must be valid JSON" }]);
  }
}
