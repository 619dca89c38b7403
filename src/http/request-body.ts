import type { Context } from "hono";

/** What reading a request's body found: nothing to refuse, or why it is refused. */
export type BodyReading = "read" | "too_large" | "not_utf8" | "unreadable";

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a request's body once, at most `maxBytes` of it, before anything else looks at it.
 *
 * - A body over `maxBytes` is refused: by its Content-Length when it declares one, else (chunked)
 *   as soon as the bytes read pass the limit, so no more than the limit (and one chunk) is held.
 * - A JSON body must be UTF-8 (RFC 8259 §8.1): decoding would otherwise turn invalid bytes into
 *   U+FFFD and store something other than what the caller sent, so it is refused instead. A valid
 *   one is handed to Hono's body cache as text, where the JSON validator parses it, once.
 * - Any other body (refused later as the wrong media type) is left as it came when its length is
 *   declared, and otherwise kept as the bytes read, for whatever looks at it next.
 * - A body whose stream fails before its end (the caller hung up) is unreadable.
 */
export async function readRequestBody(c: Context, maxBytes: number): Promise<BodyReading> {
  const raw = c.req.raw;
  if (raw.method === "GET" || raw.method === "HEAD") return "read";
  const declared = raw.headers.has("transfer-encoding") ? null : raw.headers.get("content-length");
  if (declared !== null && Number.parseInt(declared, 10) > maxBytes) return "too_large";
  const json = JSON_MEDIA_TYPE.test((raw.headers.get("content-type") ?? "").split(";")[0]!.trim());
  if (!json && declared !== null) return "read";

  let bytes: Uint8Array<ArrayBuffer> | null;
  try {
    // A declared length bounds the body already (the server reads no more), so it is read whole:
    // on Node, @hono/node-server then reads it straight from the socket, without building a
    // WHATWG Request and stream for it. Anything else is read as a stream, counting.
    if (declared !== null) bytes = new Uint8Array(await raw.arrayBuffer());
    else if (raw.body === null) return "read";
    else bytes = await readAtMost(raw.body, maxBytes);
  } catch {
    // The caller hung up or its connection broke mid-body: there is nothing to act on.
    return "unreadable";
  }
  if (bytes === null) return "too_large";
  if (!json) {
    c.req.raw = new Request(raw, { body: bytes });
    return "read";
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return "not_utf8";
  }
  // Hono keeps promises in its body cache (its type says the values): `c.req.json()` parses this text.
  (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
  return "read";
}

/**
 * The stream's bytes, or null once they pass `maxBytes`. The rest is left unread, not cancelled:
 * on Node, cancelling the body can close the connection before the refusal is written.
 */
async function readAtMost(body: ReadableStream<Uint8Array<ArrayBuffer>>, maxBytes: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const reader = body.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) return null;
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
