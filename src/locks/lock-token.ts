import { type HmacSha256Key, type Sha256, webCryptoSha256 } from "../crypto/sha256.ts";
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

/** An opened token's grant, and whether the current signing key (not an older one) signed it. */
export interface OpenedToken extends GrantToken {
  signedByCurrentKey: boolean;
}

export class TokenKeys {
  readonly #keys: HmacSha256Key[];
  readonly #sha256: Sha256;
  private constructor(keys: HmacSha256Key[], sha256: Sha256) {
    this.#keys = keys;
    this.#sha256 = sha256;
  }

  /**
   * The first key signs; every key verifies, so keys can be rotated without breaking holders.
   * Imported once, when the gateway starts: each request then costs one HMAC (two when its token
   * was signed by an older key) and no key import.
   */
  static async import(rawKeys: Uint8Array[], sha256: Sha256 = webCryptoSha256): Promise<TokenKeys> {
    if (rawKeys.length === 0) throw new Error("at least one token key is required");
    return new TokenKeys(await Promise.all(rawKeys.map((raw) => sha256.hmacKey(raw))), sha256);
  }

  async issue(lockKey: string, grant: GrantToken): Promise<string> {
    const identity = toBase64Url(utf8Encoder.encode(grant.holderIdentity));
    const mac = await this.#keys[0]!.sign(utf8Encoder.encode(signedText(lockKey, grant.fencingToken, grant.secret, identity)));
    return [LOCK_TOKEN_PREFIX, grant.fencingToken, grant.secret, identity, toBase64Url(mac)].join(".");
  }

  /**
   * The token's grant if it is well-formed and was issued for this lock; otherwise null. A token
   * the current key signed is exactly what `issue` would make of its grant again (HMAC is
   * deterministic and every part is canonical), so whoever answers with the same grant may hand
   * it back instead of signing again.
   */
  async open(lockKey: string, token: string): Promise<OpenedToken | null> {
    if (!isLockTokenShaped(token)) return null;
    const [, fencingToken, secret, identity, macText] = token.split(".") as [string, string, string, string, string];
    const mac = fromBase64Url(macText, 43);
    const identityBytes = fromBase64Url(identity, 4096);
    if (!mac || !identityBytes) return null;
    const holderIdentity = utf8.decode(identityBytes);
    const input = utf8Encoder.encode(signedText(lockKey, fencingToken, secret, identity));
    for (const [index, key] of this.#keys.entries()) {
      if (await key.verify(mac, input)) return { fencingToken, secret, holderIdentity, signedByCurrentKey: index === 0 };
    }
    return null;
  }

  /** A reproducible secret for one logical acquisition: same caller, lock and key give the same secret. */
  async idempotentSecret(lockKey: string, subject: string, idempotencyKey: string): Promise<string> {
    const input = utf8Encoder.encode(["idempotency", lockKey, subject, idempotencyKey].join("\n"));
    return toBase64Url(await this.#keys[0]!.sign(input));
  }

  /** What the lock stores of a grant's secret: its SHA-256, from which the secret cannot be read back. */
  async verifierOf(secret: string): Promise<string> {
    return toBase64Url(await this.#sha256.digest(utf8Encoder.encode(secret)));
  }
}

export function randomSecret(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** The text a token's MAC covers. */
function signedText(lockKey: string, fencingToken: string, secret: string, identity: string): string {
  return [LOCK_TOKEN_PREFIX, lockKey, fencingToken, secret, identity].join("\n");
}

const utf8 = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();
