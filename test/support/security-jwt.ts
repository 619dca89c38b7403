import { constants, createHmac, createPublicKey, type JsonWebKey, KeyObject, sign } from "node:crypto";
import type { JWK } from "jose";

/**
 * Hand-made JWS for attack tests: exactly the header and payload given, signed as asked (or not at
 * all), with no library in between to refuse building something malicious.
 */
export function b64url(input: string | Uint8Array | Record<string, unknown> | unknown[]): string {
  if (typeof input === "string") return Buffer.from(input, "utf8").toString("base64url");
  if (input instanceof Uint8Array) return Buffer.from(input).toString("base64url");
  return Buffer.from(JSON.stringify(input), "utf8").toString("base64url");
}

export type RawAlg = "none" | "RS256" | "PS256" | "ES256" | "HS256";
type SigningKey = CryptoKey | KeyObject | string | Uint8Array;

export function signCompact(header: Record<string, unknown>, payload: Record<string, unknown> | string, alg: RawAlg, key?: SigningKey): string {
  const input = `${b64url(header)}.${typeof payload === "string" ? payload : b64url(payload)}`;
  return `${input}.${signature(input, alg, key)}`;
}

export function signature(input: string, alg: RawAlg, key?: SigningKey): string {
  const data = Buffer.from(input, "ascii");
  switch (alg) {
    case "none":
      return "";
    case "HS256":
      return createHmac("sha256", typeof key === "string" ? Buffer.from(key, "utf8") : (key as Uint8Array)).update(data).digest("base64url");
    case "RS256":
      return sign("sha256", data, asKeyObject(key)).toString("base64url");
    case "PS256":
      return sign("sha256", data, { key: asKeyObject(key), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString("base64url");
    case "ES256":
      return sign("sha256", data, { key: asKeyObject(key), dsaEncoding: "ieee-p1363" }).toString("base64url");
  }
}

function asKeyObject(key: SigningKey | undefined): KeyObject {
  if (key instanceof KeyObject) return key;
  if (key && typeof key === "object" && "algorithm" in key) return KeyObject.from(key);
  throw new Error("an asymmetric signature needs a private key");
}

/** The segments of a compact JWS. */
export function segments(jwt: string): [header: string, payload: string, signature: string] {
  const [h, p, s] = jwt.split(".");
  return [h ?? "", p ?? "", s ?? ""];
}

/** Replaces one character in the middle of a segment, so that the decoded bytes surely change. */
export function flipMiddle(segment: string): string {
  const i = Math.floor(segment.length / 2);
  const ch = segment[i] === "A" ? "B" : "A";
  return segment.slice(0, i) + ch + segment.slice(i + 1);
}

/** The issuer's RSA public key in the forms a naive HS256 verifier might use as its secret. */
export function publicKeyForms(jwk: JWK): { pem: string; jwkJson: string } {
  const { kid: _kid, alg: _alg, use: _use, ...keyOnly } = jwk;
  const pem = createPublicKey({ key: keyOnly as JsonWebKey, format: "jwk" }).export({ type: "spki", format: "pem" }).toString();
  return { pem, jwkJson: JSON.stringify(jwk) };
}
