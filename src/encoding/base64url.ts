/**
 * Unpadded base64url (RFC 4648 §5), the encoding of every token this service issues or reads.
 * Only the canonical spelling is accepted: unpadded base64 is never 4k+1 characters long (atob
 * would throw on it), and a last character with spare low bits set decodes to the same bytes as
 * its canonical twin, which would give one token two spellings.
 */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function isCanonicalBase64url(text: string): boolean {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return false;
  const last = text.at(-1) ?? "";
  switch (text.length % 4) {
    case 1:
      return false;
    case 2:
      return "AQgw".includes(last);
    case 3:
      return "AEIMQUYcgkosw048".includes(last);
    default:
      return true;
  }
}

/** The bytes of canonical unpadded base64url text of at most `maxLength` characters, else null. */
export function fromBase64Url(text: string, maxLength: number): Uint8Array<ArrayBuffer> | null {
  if (text.length === 0 || text.length > maxLength || !isCanonicalBase64url(text)) return null;
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  // A plain loop: Uint8Array.from with a mapping function is several times slower here.
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
