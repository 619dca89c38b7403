import { fromBase64Url, toBase64Url } from "../encoding/base64url.ts";
import { LOCK_TOKEN_PREFIX, isLockTokenShaped } from "./lock-token-format.ts";

/**
 * Lock tokens: `lg2.<fencingToken>.<secret>.<holderIdentity>.<mac>`.
 *
 * The secret proves the caller holds the grant: only its SHA-256 verifier is stored with the
 * lock. The fencing token and the holder identity ride along because together with the verifier
 * they name exactly one grant: renew and release send them as the preconditions of a single
 * conditional write, so a token can act on its own grant and on no other, without a read first.
 * The MAC, keyed by the service's token key, stops a caller from altering any part.
 * Tokens derived from an Idempotency-Key are reproducible, so a retried acquire can return
 * the very token of the grant it already made.
 */
const SECRET_BYTES = 32;

/** What a valid token says about the grant it was issued for. */
export interface GrantToken {
  fencingToken: string;
  secret: string;
  holderIdentity: string;
}

export class TokenKeys {
  readonly #keys: CryptoKey[];
  /** Whether these are the keys of one request (see `forRequest`), which remember the token they opened. */
  readonly #remembers: boolean;
  /** The last token opened with the signing key: the text its MAC covers, and that MAC. */
  #opened: { input: string; mac: string } | undefined;

  private constructor(keys: CryptoKey[], remembers: boolean) {
    this.#keys = keys;
    this.#remembers = remembers;
  }

  /**
   * The first key signs; every key verifies, so keys can be rotated without breaking holders.
   * Imported once, when the gateway starts: each request then costs one HMAC (two when its token
   * was signed by an older key) and no key import.
   */
  static async import(rawKeys: Uint8Array[]): Promise<TokenKeys> {
    if (rawKeys.length === 0) throw new Error("at least one token key is required");
    const keys = await Promise.all(
      rawKeys.map((raw) =>
        crypto.subtle.importKey("raw", raw as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]),
      ),
    );
    return new TokenKeys(keys, false);
  }

  /**
   * These keys for the work of one request, which may open a token and then issue the very same
   * one (a renew). HMAC is deterministic: the MAC that just verified under the signing key is the
   * one signing would make, so issuing that token again costs no second HMAC. What a view
   * remembers goes with it when the request ends.
   */
  forRequest(): TokenKeys {
    return new TokenKeys(this.#keys, true);
  }

  async issue(lockKey: string, grant: GrantToken): Promise<string> {
    const identity = toBase64Url(utf8Encoder.encode(grant.holderIdentity));
    const input = signedText(lockKey, grant.fencingToken, grant.secret, identity);
    const mac =
      this.#opened?.input === input ? this.#opened.mac : toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", this.#keys[0]!, utf8Encoder.encode(input))));
    return [LOCK_TOKEN_PREFIX, grant.fencingToken, grant.secret, identity, mac].join(".");
  }

  /** The token's grant if it is well-formed and was issued for this lock; otherwise null. */
  async open(lockKey: string, token: string): Promise<GrantToken | null> {
    if (!isLockTokenShaped(token)) return null;
    const [, fencingToken, secret, identity, macText] = token.split(".") as [string, string, string, string, string];
    const mac = fromBase64Url(macText, 43);
    const identityBytes = fromBase64Url(identity, 4096);
    if (!mac || !identityBytes) return null;
    const holderIdentity = utf8.decode(identityBytes);
    const text = signedText(lockKey, fencingToken, secret, identity);
    const input = utf8Encoder.encode(text);
    for (const [index, key] of this.#keys.entries()) {
      if (await crypto.subtle.verify("HMAC", key, mac, input)) {
        // Only the signing key's MAC is the one `issue` would make; the text is canonical base64url of it.
        if (index === 0 && this.#remembers) this.#opened = { input: text, mac: macText };
        return { fencingToken, secret, holderIdentity };
      }
    }
    return null;
  }

  /** A reproducible secret for one logical acquisition: same caller, lock and key give the same secret. */
  async idempotentSecret(lockKey: string, subject: string, idempotencyKey: string): Promise<string> {
    const input = utf8Encoder.encode(["idempotency", lockKey, subject, idempotencyKey].join("\n"));
    return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", this.#keys[0]!, input)));
  }
}

export function randomSecret(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

export async function verifierOf(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", utf8Encoder.encode(secret));
  return toBase64Url(new Uint8Array(digest));
}

/** The text a token's MAC covers. */
function signedText(lockKey: string, fencingToken: string, secret: string, identity: string): string {
  return [LOCK_TOKEN_PREFIX, lockKey, fencingToken, secret, identity].join("\n");
}

const utf8 = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();
