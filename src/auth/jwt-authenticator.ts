import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  importSPKI,
  type JWK,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import type { IssuerConfig } from "../config/schema.ts";
import { type Sha256, webCryptoSha256 } from "../crypto/sha256.ts";
import { isCanonicalBase64url } from "../encoding/base64url.ts";
import { unprintableTextProblem } from "../encoding/printable-text.ts";
import { AuthError, type Caller } from "./caller.ts";
import { RemoteKeySet } from "./remote-key-set.ts";
import { DEFAULT_VERIFIED_TOKEN_CACHE_LIMITS, VerifiedTokenCache, verifiedTokenKey } from "./verified-token-cache.ts";

type KeyInput = Parameters<typeof jwtVerify>[1];

interface TrustedIssuer {
  config: IssuerConfig;
  algorithms: string[];
  key: KeyInput;
  /** A key set fetched from the issuer can change while the gateway runs; configured keys cannot. */
  keysChanged?: () => boolean;
}

export interface JwtAuthenticatorOptions {
  /**
   * How long a verified token is remembered, in seconds, and never past its `exp`; 0 verifies
   * the signature of every request. See docs/jwt-cache.md.
   */
  verifiedTokenCacheSeconds?: number;
  /**
   * The most verified tokens remembered at once (and never more than 8 MiB of them); the least
   * recently used is forgotten first.
   */
  verifiedTokenCacheEntries?: number;
  /** The clock `exp` and `nbf` are checked on, by jose and by the cache alike. The system clock unless set. */
  clock?: { now(): Date };
  /** Hashes tokens for the cache's keys; WebCrypto's unless set. */
  sha256?: Sha256;
}

const systemTime = { now: () => new Date() };

/**
 * Verifies bearer JWTs from several issuers with jose. The unverified `iss` only picks which
 * issuer's keys and rules apply; everything is then checked against that issuer alone.
 */
export class JwtAuthenticator {
  readonly #issuers = new Map<string, TrustedIssuer>();
  /** The largest `maxTokenBytes` of any issuer: longer tokens are refused before any decoding. */
  readonly #maxTokenLength: number;
  /** Longer Authorization values cannot hold an acceptable token and are refused unread. */
  readonly #maxAuthorizationLength: number;

  /** Callers of tokens verified recently, by the SHA-256 of the token. */
  readonly #verified: VerifiedTokenCache;
  readonly #clock: { now(): Date };
  readonly #sha256: Sha256;

  private constructor(issuers: TrustedIssuer[], options: JwtAuthenticatorOptions) {
    for (const issuer of issuers) this.#issuers.set(issuer.config.issuer, issuer);
    this.#maxTokenLength = Math.max(0, ...issuers.map((issuer) => issuer.config.maxTokenBytes));
    this.#maxAuthorizationLength = SCHEME.length + AUTHORIZATION_WHITESPACE_ALLOWANCE + this.#maxTokenLength;
    this.#verified = new VerifiedTokenCache({
      maxAgeSeconds: options.verifiedTokenCacheSeconds ?? DEFAULT_VERIFIED_TOKEN_CACHE_LIMITS.maxAgeSeconds,
      maxEntries: options.verifiedTokenCacheEntries ?? DEFAULT_VERIFIED_TOKEN_CACHE_LIMITS.maxEntries,
      maxTokenBytes: DEFAULT_VERIFIED_TOKEN_CACHE_LIMITS.maxTokenBytes,
    });
    this.#clock = options.clock ?? systemTime;
    this.#sha256 = options.sha256 ?? webCryptoSha256;
  }

  static async create(
    configs: IssuerConfig[],
    env: Record<string, string | undefined>,
    options: JwtAuthenticatorOptions = {},
  ): Promise<JwtAuthenticator> {
    return new JwtAuthenticator(await Promise.all(configs.map((config) => trust(config, env))), options);
  }

  async authenticate(authorization: string | undefined): Promise<Caller> {
    // The length is checked before the value is read at all, so any header costs at most a
    // bounded, linear amount of work on the way to a 401.
    if (authorization !== undefined && authorization.length > this.#maxAuthorizationLength) {
      throw new AuthError("unauthenticated", "authorization header too long");
    }
    const token = bearerToken(authorization ?? "");
    if (token === null) throw new AuthError("unauthenticated", "no bearer token");
    // The compact JWS alphabet is ASCII, so the length is the size in bytes.
    if (token.length > this.#maxTokenLength) throw new AuthError("unauthenticated", "token too large");
    // A signature whose spare low bits are set decodes to the same bytes as the canonical one: one token, one spelling.
    if (!isCanonicalBase64url(token.split(".")[2] ?? "")) throw new AuthError("unauthenticated", "non-canonical signature encoding");

    // Everything from here on depends only on the token's exact text, the issuer's keys and the
    // time, which is what the cache accounts for.
    const cacheKey = this.#verified.enabled ? await verifiedTokenKey(token, this.#sha256) : undefined;
    const now = this.#clock.now();
    if (cacheKey !== undefined) {
      const remembered = this.#verified.get(cacheKey, now.getTime());
      if (remembered !== undefined) return remembered;
    }

    let header: JWSHeaderParameters;
    let issuerName: unknown;
    try {
      header = decodeProtectedHeader(token);
      issuerName = decodeJwt(token).iss;
    } catch {
      throw new AuthError("unauthenticated", "token is not a JWS");
    }
    const issuer = typeof issuerName === "string" ? this.#issuers.get(issuerName) : undefined;
    if (!issuer) throw new AuthError("unauthenticated", "issuer not trusted");
    // The longest any issuer accepts was checked before decoding; this issuer may accept less.
    if (token.length > issuer.config.maxTokenBytes) throw new AuthError("unauthenticated", "token too large");
    // Keys come only from configuration: a token naming its own key or key location is an attack.
    for (const field of ["jwk", "jku", "x5u", "x5c"] as const) {
      if (field in header) throw new AuthError("unauthenticated", `token header carries ${field}`);
    }

    const keyGeneration = this.#verified.keyGeneration(issuer.config.issuer);
    let caller: Caller;
    try {
      const { payload } = await jwtVerify(token, issuer.key as JWTVerifyGetKey, {
        issuer: issuer.config.issuer,
        audience: issuer.config.audiences,
        algorithms: issuer.algorithms,
        clockTolerance: issuer.config.clockToleranceSeconds,
        currentDate: now,
        // jose checks exp only when present; a token without one would never expire.
        requiredClaims: ["exp", "iss", "aud", issuer.config.subjectClaim],
      });
      const subject = payload[issuer.config.subjectClaim];
      // The subject is shown to other callers (holder identity, kubectl, CI logs): it gets the
      // same rule as the text a caller chooses.
      if (typeof subject !== "string" || subject.length === 0 || subject.length > 512 || unprintableTextProblem(subject)) {
        throw new AuthError("unauthenticated", `claim ${issuer.config.subjectClaim} is not a usable subject`);
      }
      // One caller object may now serve many requests: none of them can alter it for the others.
      caller = Object.freeze({ issuer: issuer.config.issuer, subject, claims: deepFreeze(payload) });
    } catch (err) {
      if (err instanceof AuthError) throw err;
      const code = (err as { code?: string }).code ?? (err as Error).name;
      throw new AuthError("unauthenticated", `verification failed: ${code}`);
    } finally {
      // Whichever verification made jose adopt new keys (a token with an unknown kid, or a key
      // set past its age) also drops what was decided with the old ones, success or not.
      if (issuer.keysChanged?.()) this.#verified.forgetIssuer(issuer.config.issuer);
    }
    if (cacheKey !== undefined) this.#verified.remember(cacheKey, caller, token.length, now.getTime(), keyGeneration);
    return caller;
  }
}

/** Freezes a parsed JSON value and everything in it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

const SCHEME = "bearer";
/** Spaces or tabs around the value and spaces between scheme and token that a header may carry. */
const AUTHORIZATION_WHITESPACE_ALLOWANCE = 64;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * The token of a `Bearer` Authorization value, or null. Its ends are found with index arithmetic
 * (a regular expression trimming both ends costs time quadratic in a run of whitespace):
 * - only HTTP's own whitespace (space, tab) surrounds a header value; String#trim would also strip
 *   U+00A0;
 * - the scheme is case-insensitive and followed by one or more spaces (RFC 9110 §11.4);
 * - a compact JWS is base64url without padding (RFC 7515): '=' would let padded, non-canonical
 *   spellings of a token verify as the token itself.
 */
function bearerToken(authorization: string): string | null {
  let start = 0;
  let end = authorization.length;
  while (start < end && isHttpWhitespace(authorization.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(authorization.charCodeAt(end - 1))) end--;
  if (end - start <= SCHEME.length) return null;
  for (let index = 0; index < SCHEME.length; index++) {
    // Case-insensitive as HTTP means it, ASCII only: `| 0x20` turns 'B' into 'b' and nothing else into 'b'.
    if ((authorization.charCodeAt(start + index) | 0x20) !== SCHEME.charCodeAt(index)) return null;
  }
  let tokenStart = start + SCHEME.length;
  if (authorization.charCodeAt(tokenStart) !== SPACE) return null;
  while (tokenStart < end && authorization.charCodeAt(tokenStart) === SPACE) tokenStart++;
  if (tokenStart === end) return null;
  const token = authorization.slice(tokenStart, end);
  return COMPACT_JWS_CHARACTERS.test(token) ? token : null;
}

function isHttpWhitespace(code: number): boolean {
  return code === SPACE || code === TAB;
}

/**
 * base64url's alphabet and the '.' between the segments. One anchored character class is linear
 * in the token's length, and a compiled regular expression checks a token of 1 KiB about three
 * times as fast as a loop over its characters.
 */
const COMPACT_JWS_CHARACTERS = /^[A-Za-z0-9_.-]+$/;

async function trust(config: IssuerConfig, env: Record<string, string | undefined>): Promise<TrustedIssuer> {
  if (config.hs256SecretEnv) {
    const secret = env[config.hs256SecretEnv];
    if (!secret || secret.length < 32) {
      throw new Error(`issuer ${config.issuer}: ${config.hs256SecretEnv} must hold an HS256 secret of at least 32 characters`);
    }
    // Only HS256 for this issuer, so an asymmetric public key can never be used as an HMAC secret.
    // Imported once: given the raw bytes, jose would import them again for every token.
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    return { config, algorithms: ["HS256"], key };
  }
  const algorithms = [...config.algorithms];
  if (config.jwksUri) {
    const jwks = new RemoteKeySet(new URL(config.jwksUri));
    return { config, algorithms, key: jwks.getKey, keysChanged: () => jwks.keysChanged() };
  }
  if (config.jwks) {
    return { config, algorithms, key: createLocalJWKSet(config.jwks as Parameters<typeof createLocalJWKSet>[0]) };
  }
  // A PEM key does not say its algorithm: publish it once per allowed algorithm it fits, as a
  // local JWKS, so jose matches keys exactly as it does for a JWKS document.
  const keys: JWK[] = [];
  for (const pem of config.publicKeys ?? []) {
    const fitting = await Promise.all(
      algorithms.map(async (alg) => {
        try {
          return { ...(await exportJWK(await importSPKI(pem, alg, { extractable: true }))), alg };
        } catch {
          return null;
        }
      }),
    );
    const usable = fitting.filter((k) => k !== null) as JWK[];
    if (usable.length === 0) throw new Error(`issuer ${config.issuer}: a public key fits none of ${algorithms.join(", ")}`);
    keys.push(...usable);
  }
  const local = createLocalJWKSet({ keys });
  // A PEM key has no key ID, so a token's `kid` (which most issuers set) cannot name one of them:
  // choose by algorithm alone, or no token with a `kid` would ever verify.
  const byAlgorithm: JWTVerifyGetKey = (header, token) => local({ ...header, kid: undefined }, token);
  return { config, algorithms, key: byAlgorithm };
}
