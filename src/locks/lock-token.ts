/**
 * Lock tokens: `lg1.<fencingToken>.<secret>.<mac>`.
 *
 * The secret proves the caller holds the grant: only its SHA-256 verifier is stored with the
 * lock. The fencing token rides along so renew can answer (and record it) without reading
 * the lock first; the MAC, keyed by the service's token key, stops a caller from altering it.
 * Tokens derived from an Idempotency-Key are reproducible, so a retried acquire can return
 * the very token of the grant it already made.
 */
const PREFIX = "lg1";
const SECRET_BYTES = 32;

export interface ParsedToken {
  fencingToken: string;
  secret: string;
}

export class TokenKeys {
  readonly #keys: CryptoKey[];
  private constructor(keys: CryptoKey[]) {
    this.#keys = keys;
  }

  /** The first key signs; every key verifies, so keys can be rotated without breaking holders. */
  static async import(rawKeys: Uint8Array[]): Promise<TokenKeys> {
    if (rawKeys.length === 0) throw new Error("at least one token key is required");
    const keys = await Promise.all(
      rawKeys.map((raw) =>
        crypto.subtle.importKey("raw", raw as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]),
      ),
    );
    return new TokenKeys(keys);
  }

  async issue(lockKey: string, fencingToken: string, secret: string): Promise<string> {
    const mac = await crypto.subtle.sign("HMAC", this.#keys[0]!, macInput(lockKey, fencingToken, secret));
    return [PREFIX, fencingToken, secret, toBase64Url(new Uint8Array(mac))].join(".");
  }

  /** The token's parts if it is well-formed and was issued for this lock; otherwise null. */
  async open(lockKey: string, token: string): Promise<ParsedToken | null> {
    const parts = token.split(".");
    if (parts.length !== 4 || parts[0] !== PREFIX) return null;
    const [, fencingToken, secret, macText] = parts as [string, string, string, string];
    if (!/^[0-9]{1,20}$/.test(fencingToken)) return null;
    const mac = fromBase64Url(macText);
    if (!mac || !fromBase64Url(secret)) return null;
    const input = macInput(lockKey, fencingToken, secret);
    for (const key of this.#keys) {
      if (await crypto.subtle.verify("HMAC", key, mac as BufferSource, input)) return { fencingToken, secret };
    }
    return null;
  }

  /**
   * Wraps a storage continuation so that only continuations this service handed out come back
   * to storage: a forged one could make the apiserver wait for a revision that does not exist.
   */
  async sealCursor(raw: string): Promise<string> {
    const mac = await crypto.subtle.sign("HMAC", this.#keys[0]!, cursorInput(raw));
    return `${toBase64Url(new TextEncoder().encode(raw))}.${toBase64Url(new Uint8Array(mac))}`;
  }

  /** The storage continuation inside a sealed cursor, or null if this service did not seal it. */
  async openCursor(sealed: string): Promise<string | null> {
    const [rawText, macText, extra] = sealed.split(".");
    if (rawText === undefined || macText === undefined || extra !== undefined) return null;
    const raw = fromBase64Url(rawText, 8192);
    const mac = fromBase64Url(macText);
    if (!raw || !mac) return null;
    const text = new TextDecoder().decode(raw);
    for (const key of this.#keys) {
      if (await crypto.subtle.verify("HMAC", key, mac as BufferSource, cursorInput(text))) return text;
    }
    return null;
  }

  /** A reproducible secret for one logical acquisition: same caller, lock and key give the same secret. */
  async idempotentSecret(lockKey: string, subject: string, idempotencyKey: string): Promise<string> {
    const input = new TextEncoder().encode(["idempotency", lockKey, subject, idempotencyKey].join("\n"));
    return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", this.#keys[0]!, input)));
  }
}

export function randomSecret(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

export async function verifierOf(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  return toBase64Url(new Uint8Array(digest));
}

function cursorInput(raw: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(["cursor", raw].join("\n"));
}

function macInput(lockKey: string, fencingToken: string, secret: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode([PREFIX, lockKey, fencingToken, secret].join("\n"));
}

export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string, maxLength = 200): Uint8Array | null {
  // Unpadded base64 is never 4k+1 characters long; atob would throw on it.
  if (text.length > maxLength || !/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) return null;
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
