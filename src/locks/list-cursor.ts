import { fromBase64Url, toBase64Url } from "../encoding/base64url.ts";

/**
 * List cursors: `lc1.<iv and ciphertext>`, the storage's continuation encrypted for one scope.
 *
 * A storage continuation says where the next page starts; Kubernetes' names the last lock of the
 * page and the etcd revision in plain base64. Pages leave out locks the caller may not read, so
 * handing the continuation out, even signed, would tell a caller the names it is not allowed to
 * see. It is therefore encrypted (AES-256-GCM), and the scope (who listed, and what) is the
 * additional data: a cursor opens only for the listing it was issued for, and a forged, altered or
 * borrowed one never reaches storage, where it could make the apiserver wait for a revision that
 * does not exist.
 */
const PREFIX = "lc1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
/**
 * Plaintexts are padded to a multiple of this, so that the cursor's length does not reveal the
 * length of the name it resumes after. Every Kubernetes continuation (base64 of JSON holding a
 * ≤ 253-character name and a revision, at most about 430 bytes) fits in one block.
 */
const PADDING_BLOCK = 512;
/** Far above any cursor this service issues; longer text is refused before any decoding. */
const MAX_CURSOR_CHARS = 4096;
/** Separates the cursor key from every other use of the same token keys (HKDF `info`). */
const KEY_LABEL = "leasegate list cursor v1";

export class ListCursors {
  readonly #keys: CryptoKey[];
  private constructor(keys: CryptoKey[]) {
    this.#keys = keys;
  }

  /** From the same raw keys as lock tokens: the first seals, every one opens, so keys can rotate. */
  static async import(rawKeys: Uint8Array[]): Promise<ListCursors> {
    if (rawKeys.length === 0) throw new Error("at least one token key is required");
    const keys = await Promise.all(rawKeys.map(deriveCursorKey));
    return new ListCursors(keys);
  }

  /** Encrypts `continuation` so that it opens only under the same `scope`. */
  async seal(continuation: string, scope: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ciphertext = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: additionalData(scope) },
      this.#keys[0]!,
      pad(new TextEncoder().encode(continuation)),
    );
    return `${PREFIX}.${toBase64Url(concat(iv, new Uint8Array(ciphertext)))}`;
  }

  /** The continuation inside `cursor`, or null unless this service sealed it for this `scope`. */
  async open(cursor: string, scope: string): Promise<string | null> {
    if (cursor.length > MAX_CURSOR_CHARS || !cursor.startsWith(`${PREFIX}.`)) return null;
    const sealed = fromBase64Url(cursor.slice(PREFIX.length + 1), MAX_CURSOR_CHARS);
    if (!sealed || sealed.length < IV_BYTES + TAG_BYTES + PADDING_BLOCK) return null;
    const iv = sealed.subarray(0, IV_BYTES);
    const ciphertext = sealed.subarray(IV_BYTES);
    const data = additionalData(scope);
    for (const key of this.#keys) {
      try {
        const padded = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: data }, key, ciphertext);
        const plaintext = unpad(new Uint8Array(padded));
        return plaintext && new TextDecoder("utf-8", { fatal: true }).decode(plaintext);
      } catch {
        // Not sealed with this key for this scope (or altered); runtimes differ in how they say so.
      }
    }
    return null;
  }
}

async function deriveCursorKey(raw: Uint8Array): Promise<CryptoKey> {
  const secret = await crypto.subtle.importKey("raw", raw as BufferSource, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode(KEY_LABEL) },
    secret,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function additionalData(scope: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${PREFIX}\n${scope}`);
}

/** ISO/IEC 7816-4 padding: a 0x80 byte, then zeros up to the block size. */
function pad(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const padded = new Uint8Array(Math.ceil((bytes.length + 1) / PADDING_BLOCK) * PADDING_BLOCK);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  return padded;
}

function unpad(padded: Uint8Array): Uint8Array | null {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  return end >= 0 && padded[end] === 0x80 ? padded.subarray(0, end) : null;
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first);
  joined.set(second, first.length);
  return joined;
}
