import type { Sha256 } from "../crypto/sha256.ts";
import type { Caller } from "./caller.ts";

/** How long and how many verified tokens are remembered. */
export interface VerifiedTokenCacheLimits {
  /** The longest an entry is served, in seconds (never past the token's `exp`); 0 turns the cache off. */
  maxAgeSeconds: number;
  /** The most entries held at once; the least recently used one goes first. */
  maxEntries: number;
  /**
   * The most token text, in bytes, the entries may stand for: what an entry holds (the verified
   * claims) grows with its token, to about three times its length for a token of tiny claims.
   */
  maxTokenBytes: number;
}

/**
 * Measured on Node 24: tokens like GitHub Actions' (1.4 KiB, 31 claims) hold 1.2 KiB each, and
 * the byte budget lets about 5,800 of them in (7 MiB); 8 KiB tokens of 800 one-character claims
 * hold 24 KiB each, and it stops them at about 1,070 (26 MiB).
 */
export const DEFAULT_VERIFIED_TOKEN_CACHE_LIMITS: VerifiedTokenCacheLimits = { maxAgeSeconds: 60, maxEntries: 10_000, maxTokenBytes: 8 << 20 };

interface Entry {
  caller: Caller;
  /** When the token was verified: a clock that has gone back before it can no longer vouch for the entry's age. */
  verifiedAtMs: number;
  /** The earlier of the token's `exp` and the configured maximum age; the entry is dead from this instant on. */
  expiresAtMs: number;
  tokenBytes: number;
}

/**
 * The callers of bearer tokens that verified recently, so that a caller sending the same token
 * again costs one SHA-256 of it instead of a signature verification (see docs/jwt-cache.md).
 *
 * - An entry is found only by the SHA-256 of the exact token text: the token itself is never
 *   kept, so nothing in this cache can be replayed, and only a byte-identical token finds it.
 * - An entry lives until the token's `exp` or the maximum age, whichever comes first. The
 *   verifier's clock tolerance is not extended to it: past `exp` the token is verified again, and
 *   a token that verified only thanks to the tolerance is not remembered at all. A token that is
 *   not yet valid by its `nbf` (accepted within the tolerance) is not remembered either.
 * - Nothing but a successful verification is remembered.
 * - When an issuer's keys change, all of its entries are dropped, and a verification that was
 *   under way while they changed is not remembered (see `keyGeneration`).
 * - At most `maxEntries` are held, standing for at most `maxTokenBytes` of tokens: a flood of
 *   distinct valid tokens evicts older entries, whose callers are then simply verified again.
 */
export class VerifiedTokenCache {
  readonly #maxAgeMs: number;
  readonly #maxEntries: number;
  readonly #maxTokenBytes: number;
  /** The token bytes the entries stand for. */
  #tokenBytes = 0;
  /** In order of last use, least recent first: a Map iterates in insertion order. */
  readonly #entries = new Map<string, Entry>();
  /** Per issuer, how many times its keys have changed. */
  readonly #keyGenerations = new Map<string, number>();

  constructor(limits: VerifiedTokenCacheLimits = DEFAULT_VERIFIED_TOKEN_CACHE_LIMITS) {
    const { maxAgeSeconds, maxEntries, maxTokenBytes } = limits;
    if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0) throw new Error("maxAgeSeconds must be a whole number of seconds, 0 or more");
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error("maxEntries must be a whole number, 1 or more");
    if (!Number.isInteger(maxTokenBytes) || maxTokenBytes < 1) throw new Error("maxTokenBytes must be a whole number, 1 or more");
    this.#maxAgeMs = maxAgeSeconds * 1000;
    this.#maxEntries = maxEntries;
    this.#maxTokenBytes = maxTokenBytes;
  }

  get enabled(): boolean {
    return this.#maxAgeMs > 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The token bytes the entries stand for. */
  get tokenBytes(): number {
    return this.#tokenBytes;
  }

  /** The caller remembered under `key`, if its entry is alive at `nowMs`. */
  get(key: string, nowMs: number): Caller | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.expiresAtMs || nowMs < entry.verifiedAtMs) {
      this.#delete(key, entry);
      return undefined;
    }
    // Back in at the end: the most recently used entry is the last to be evicted.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.caller;
  }

  /**
   * A number that changes whenever `issuer`'s keys change. Read it before verifying a token and
   * hand it to `remember`: a verification that overlapped a key change is not remembered, since
   * it may have used a key that is gone now.
   */
  keyGeneration(issuer: string): number {
    return this.#keyGenerations.get(issuer) ?? 0;
  }

  /**
   * Remembers the caller of a token (of `tokenBytes` bytes) that verified at `verifiedAtMs`, read
   * from its verified claims, if it may be: `exp` is still ahead, `nbf` (if any) is not, and the
   * issuer's keys are those of `keyGeneration`.
   */
  remember(key: string, caller: Caller, tokenBytes: number, verifiedAtMs: number, keyGeneration: number): void {
    if (!this.enabled || keyGeneration !== this.keyGeneration(caller.issuer) || tokenBytes > this.#maxTokenBytes) return;
    const { exp, nbf } = caller.claims;
    if (typeof exp !== "number" || !(exp * 1000 > verifiedAtMs)) return;
    if (nbf !== undefined && !(typeof nbf === "number" && nbf * 1000 <= verifiedAtMs)) return;
    const earlier = this.#entries.get(key);
    if (earlier !== undefined) this.#delete(key, earlier);
    this.#entries.set(key, { caller, verifiedAtMs, expiresAtMs: Math.min(exp * 1000, verifiedAtMs + this.#maxAgeMs), tokenBytes });
    this.#tokenBytes += tokenBytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#tokenBytes <= this.#maxTokenBytes) break;
      this.#delete(oldest, entry);
    }
  }

  /** Drops every entry of `issuer`, whose keys changed, and makes verifications under way not count. */
  forgetIssuer(issuer: string): void {
    this.#keyGenerations.set(issuer, this.keyGeneration(issuer) + 1);
    for (const [key, entry] of this.#entries) {
      if (entry.caller.issuer === issuer) this.#delete(key, entry);
    }
  }

  #delete(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#tokenBytes -= entry.tokenBytes;
  }
}

/**
 * The key a token is remembered under: the SHA-256 of its exact text, as a string of 32 byte-sized
 * characters. Only a byte-identical token finds the entry, and the token cannot be read back out.
 */
export async function verifiedTokenKey(token: string, sha256: Sha256): Promise<string> {
  return String.fromCharCode(...(await sha256.digest(ascii.encode(token))));
}

const ascii = new TextEncoder();
