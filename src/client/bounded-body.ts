/** The longest answer read: a grant or problem document is a few KiB; anything far larger is not one. */
export const MAX_ANSWER_BYTES = 1 << 20;

/**
 * The body as text, or undefined when it is longer than `maxBytes` (the rest is not read).
 * Bytes that are not UTF-8 become U+FFFD, which no JSON the client accepts contains.
 */
export async function boundedText(response: Response, maxBytes = MAX_ANSWER_BYTES): Promise<string | undefined> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
