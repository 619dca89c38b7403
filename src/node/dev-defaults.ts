import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { toBase64Url } from "../locks/lock-token.ts";

export const DEV_ISSUER = "leasegate-dev";
export const DEV_AUDIENCE = "leasegate";

/**
 * `npm start` with no configuration: a throw-away signing key trusted as the only issuer, a
 * policy that lets `dev-*` subjects do everything, and a fresh lock-token key. Never used when
 * LEASEGATE_CONFIG or LEASEGATE_CONFIG_FILE is set.
 */
export async function devDefaults(): Promise<{ configText: string; tokenKeys: string; mint: (sub: string) => Promise<string> }> {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "dev", alg: "ES256" };
  const config = {
    namespace: "leasegate",
    issuers: [{ issuer: DEV_ISSUER, audiences: [DEV_AUDIENCE], jwks: { keys: [jwk] }, algorithms: ["ES256"] }],
    policy: [
      { description: "local development: everything", match: { iss: DEV_ISSUER, sub: "dev-*" }, actions: ["acquire", "renew", "release", "read", "admin"], locks: ["*"] },
    ],
  };
  const mint = (sub: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "dev" })
      .setIssuer(DEV_ISSUER)
      .setAudience(DEV_AUDIENCE)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime("12h")
      .sign(privateKey);
  return { configText: JSON.stringify(config), tokenKeys: toBase64Url(crypto.getRandomValues(new Uint8Array(32))), mint };
}
