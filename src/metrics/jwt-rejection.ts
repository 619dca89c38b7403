import type { AuthError } from "../auth/caller.ts";

/** Why a token was refused, in a fixed set of words fit for a metric label. */
export type JwtRejection =
  | "missing"
  | "header_too_long"
  | "too_large"
  | "malformed"
  | "untrusted_issuer"
  | "embedded_key"
  | "unusable_subject"
  | "expired"
  | "claim_invalid"
  | "bad_signature"
  | "algorithm_not_allowed"
  | "unknown_key"
  | "keys_unavailable"
  | "other";

export const JWT_REJECTIONS: readonly JwtRejection[] = [
  "missing",
  "header_too_long",
  "too_large",
  "malformed",
  "untrusted_issuer",
  "embedded_key",
  "unusable_subject",
  "expired",
  "claim_invalid",
  "bad_signature",
  "algorithm_not_allowed",
  "unknown_key",
  "keys_unavailable",
  "other",
];

/** jose's error codes, as the authenticator reports them after `verification failed: `. */
const JOSE_CODES: Record<string, JwtRejection> = {
  ERR_JWT_EXPIRED: "expired",
  ERR_JWT_CLAIM_VALIDATION_FAILED: "claim_invalid",
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "bad_signature",
  ERR_JOSE_ALG_NOT_ALLOWED: "algorithm_not_allowed",
  ERR_JOSE_NOT_SUPPORTED: "algorithm_not_allowed",
  ERR_JWKS_NO_MATCHING_KEY: "unknown_key",
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: "unknown_key",
  ERR_JWKS_TIMEOUT: "keys_unavailable",
  ERR_JWKS_INVALID: "keys_unavailable",
  ERR_JWS_INVALID: "malformed",
  ERR_JWT_INVALID: "malformed",
};

/**
 * The reason of a 401, read from the authenticator's log text (src/auth/jwt-authenticator.ts),
 * which is fixed wording plus, at most, a jose error code or a configured claim name. Anything
 * not recognised counts as `other`, so the label set stays closed whatever the text says.
 */
export function jwtRejectionOf(err: Pick<AuthError, "internal">): JwtRejection {
  const text = err.internal ?? "";
  if (text === "no bearer token") return "missing";
  if (text === "authorization header too long") return "header_too_long";
  if (text === "token too large") return "too_large";
  if (text === "token is not a JWS" || text === "non-canonical signature encoding") return "malformed";
  if (text === "issuer not trusted") return "untrusted_issuer";
  if (text.startsWith("token header carries ")) return "embedded_key";
  if (text.startsWith("claim ") && text.endsWith(" is not a usable subject")) return "unusable_subject";
  if (text.startsWith("verification failed: ")) return JOSE_CODES[text.slice("verification failed: ".length)] ?? "other";
  return "other";
}
