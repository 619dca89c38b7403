/**
 * Signing secrets as Standard Webhooks spells them: `whsec_` and the base64 of 24 to 64 random
 * bytes (`echo "whsec_$(openssl rand -base64 32)"`). A variable may hold several, separated by
 * spaces or commas, while a secret is being rotated: every message is then signed with each, and
 * a receiver holding either one accepts it.
 */
const PREFIX = "whsec_";
const MIN_BYTES = 24;
const MAX_BYTES = 64;
const MAX_SECRETS = 4;

/** The key bytes of each secret in `text`, or the reason the text is not a usable secret (never quoting it). */
export function parseWebhookSecrets(text: string | undefined): Uint8Array<ArrayBuffer>[] | string {
  if (text === undefined || text.trim() === "") return "is not set";
  const parts = text.trim().split(/[\s,]+/);
  if (parts.length > MAX_SECRETS) return `holds ${parts.length} secrets; at most ${MAX_SECRETS} (one, or the old and the new while rotating)`;
  const keys: Uint8Array<ArrayBuffer>[] = [];
  for (const [index, part] of parts.entries()) {
    const which = parts.length > 1 ? `secret ${index + 1}` : "the secret";
    if (!part.startsWith(PREFIX)) return `${which} must start with ${PREFIX} (then base64 of ${MIN_BYTES}-${MAX_BYTES} random bytes)`;
    const bytes = fromBase64(part.slice(PREFIX.length));
    if (bytes === null) return `${which} is not ${PREFIX} followed by base64`;
    if (bytes.length < MIN_BYTES || bytes.length > MAX_BYTES) return `${which} must hold ${MIN_BYTES} to ${MAX_BYTES} bytes, not ${bytes.length}`;
    keys.push(bytes);
  }
  return keys;
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}
