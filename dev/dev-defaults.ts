import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export const DEV_ISSUER = "leasegate-dev";
export const DEV_AUDIENCE = "leasegate";

export interface DevDefaults {
  /** The gateway's JSON configuration (what LEASEGATE_CONFIG holds in production). */
  configText: string;
  /** A fresh lock-token key (what LEASEGATE_TOKEN_KEYS holds in production). */
  tokenKeys: string;
  /** A 12-hour token of the throw-away issuer for this subject. */
  mint: (sub: string) => Promise<string>;
}

/**
 * Development mode's settings: a throw-away signing key trusted as the only issuer, a policy
 * that lets `dev-*` subjects do everything, a fresh lock-token key, and the local cluster's
 * kubeconfig. Everything dies with the process.
 */
export async function devDefaults(kubeconfig: string): Promise<DevDefaults> {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "dev", alg: "ES256" };
  const config = {
    namespace: "leasegate",
    kubernetes: { kubeconfig },
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
  return { configText: JSON.stringify(config), tokenKeys: randomBytes(32).toString("base64url"), mint };
}
