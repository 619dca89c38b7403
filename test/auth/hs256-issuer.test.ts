import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthError } from "../../src/auth/caller.ts";
import { JwtAuthenticator } from "../../src/auth/jwt-authenticator.ts";
import { issuerSchema } from "../../src/config/schema.ts";
import { signingKey } from "../support/security-jwks.ts";

const AUDIENCE = "leasegate";
const ISSUER = "https://shared-secret.example";
const SECRET = "a-shared-secret-of-more-than-32-characters";
const config = issuerSchema.parse({ issuer: ISSUER, audiences: [AUDIENCE], hs256SecretEnv: "ISSUER_SECRET", allowHs256: true });

const mint = (secret: Uint8Array | CryptoKey, alg = "HS256") =>
  new SignJWT({ sub: "svc-a" })
    .setProtectedHeader({ alg, typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(secret)
    .then((jwt) => `Bearer ${jwt}`);

async function refusal(auth: JwtAuthenticator, authorization: string): Promise<AuthError> {
  try {
    await auth.authenticate(authorization);
  } catch (err) {
    if (err instanceof AuthError) return err;
    throw err;
  }
  throw new Error("accepted");
}

describe("an issuer trusted with a shared HS256 secret", () => {
  let auth: JwtAuthenticator;
  beforeAll(async () => {
    auth = await JwtAuthenticator.create([config], { ISSUER_SECRET: SECRET }, { verifiedTokenCacheSeconds: 0 });
  });

  it("accepts tokens signed with the secret, every time", async () => {
    const token = await mint(new TextEncoder().encode(SECRET));
    for (let call = 0; call < 3; call++) expect(await auth.authenticate(token)).toMatchObject({ issuer: ISSUER, subject: "svc-a" });
  });

  it("refuses tokens signed with another secret", async () => {
    const error = await refusal(auth, await mint(new TextEncoder().encode(`${SECRET}!`)));
    expect(error.internal).toBe("verification failed: ERR_JWS_SIGNATURE_VERIFICATION_FAILED");
  });

  it("refuses tokens of any other algorithm", async () => {
    const { privateKey } = await signingKey("k1", "ES256");
    const error = await refusal(auth, await mint(privateKey, "ES256"));
    expect(error.internal).toBe("verification failed: ERR_JOSE_ALG_NOT_ALLOWED");
  });

  it("is refused at start-up when the secret is missing or shorter than 32 characters", async () => {
    await expect(JwtAuthenticator.create([config], {})).rejects.toThrow(/ISSUER_SECRET must hold an HS256 secret/);
    await expect(JwtAuthenticator.create([config], { ISSUER_SECRET: "x".repeat(31) })).rejects.toThrow(/at least 32 characters/);
  });
});
