import {
  createLocalJWKSet,
  createRemoteJWKSet,
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
import { AuthError, type Caller } from "./caller.ts";

type KeyInput = Parameters<typeof jwtVerify>[1];

interface TrustedIssuer {
  config: IssuerConfig;
  algorithms: string[];
  key: KeyInput;
}

/**
 * Verifies bearer JWTs from several issuers with jose. The unverified `iss` only picks which
 * issuer's keys and rules apply; everything is then checked against that issuer alone.
 */
export class JwtAuthenticator {
  readonly #issuers = new Map<string, TrustedIssuer>();

  private constructor(issuers: TrustedIssuer[]) {
    for (const issuer of issuers) this.#issuers.set(issuer.config.issuer, issuer);
  }

  static async create(configs: IssuerConfig[], env: Record<string, string | undefined>): Promise<JwtAuthenticator> {
    return new JwtAuthenticator(await Promise.all(configs.map((config) => trust(config, env))));
  }

  async authenticate(authorization: string | undefined): Promise<Caller> {
    // Only HTTP's own whitespace (space, tab) surrounds a header value: String#trim would also
    // strip U+00A0. A compact JWS is base64url without padding (RFC 7515): '=' would let padded,
    // non-canonical spellings of a token verify as the token itself.
    // The scheme is case-insensitive and may be followed by several spaces (RFC 9110 §11.4).
    const match = /^bearer +([A-Za-z0-9_\-.]+)$/i.exec(authorization?.replace(/^[ \t]+|[ \t]+$/g, "") ?? "");
    if (!match) throw new AuthError("unauthenticated", "no bearer token");
    const token = match[1]!;
    // Likewise a signature whose spare low bits are set decodes to the same bytes: one token, one spelling.
    if (!isCanonicalBase64url(token.split(".")[2] ?? "")) throw new AuthError("unauthenticated", "non-canonical signature encoding");

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
    if (token.length > issuer.config.maxTokenBytes) throw new AuthError("unauthenticated", "token too large");
    // Keys come only from configuration: a token naming its own key or key location is an attack.
    for (const field of ["jwk", "jku", "x5u", "x5c"] as const) {
      if (field in header) throw new AuthError("unauthenticated", `token header carries ${field}`);
    }

    try {
      const { payload } = await jwtVerify(token, issuer.key as JWTVerifyGetKey, {
        issuer: issuer.config.issuer,
        audience: issuer.config.audiences,
        algorithms: issuer.algorithms,
        clockTolerance: issuer.config.clockToleranceSeconds,
        // jose checks exp only when present; a token without one would never expire.
        requiredClaims: ["exp", "iss", "aud", issuer.config.subjectClaim],
      });
      const subject = payload[issuer.config.subjectClaim];
      if (typeof subject !== "string" || subject.length === 0 || subject.length > 512) {
        throw new AuthError("unauthenticated", `claim ${issuer.config.subjectClaim} is not a usable subject`);
      }
      return { issuer: issuer.config.issuer, subject, claims: payload };
    } catch (err) {
      if (err instanceof AuthError) throw err;
      const code = (err as { code?: string }).code ?? (err as Error).name;
      throw new AuthError("unauthenticated", `verification failed: ${code}`);
    }
  }
}

/** Unpadded base64url whose last character leaves no spare bit set: the only spelling of its bytes. */
function isCanonicalBase64url(segment: string): boolean {
  const last = segment.at(-1);
  switch (segment.length % 4) {
    case 1:
      return false;
    case 2:
      return "AQgw".includes(last!);
    case 3:
      return "AEIMQUYcgkosw048".includes(last!);
    default:
      return true;
  }
}

async function trust(config: IssuerConfig, env: Record<string, string | undefined>): Promise<TrustedIssuer> {
  if (config.hs256SecretEnv) {
    const secret = env[config.hs256SecretEnv];
    if (!secret || secret.length < 32) {
      throw new Error(`issuer ${config.issuer}: ${config.hs256SecretEnv} must hold an HS256 secret of at least 32 characters`);
    }
    // Only HS256 for this issuer, so an asymmetric public key can never be used as an HMAC secret.
    return { config, algorithms: ["HS256"], key: new TextEncoder().encode(secret) };
  }
  const algorithms = [...config.algorithms];
  if (config.jwksUri) {
    const jwks = createRemoteJWKSet(new URL(config.jwksUri), {
      timeoutDuration: 3000,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
    });
    return { config, algorithms, key: jwks };
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
