import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthError } from "../../src/auth/caller.ts";
import { JwtAuthenticator } from "../../src/auth/jwt-authenticator.ts";
import { configSchema } from "../../src/config/schema.ts";
import { type JwtRejection, jwtRejectionOf } from "../../src/metrics/jwt-rejection.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

let issuer: OidcIssuer;
let authenticator: JwtAuthenticator;

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: "leasegate" });
  const config = configSchema.parse({ issuers: [{ issuer: issuer.issuer, audiences: ["leasegate"], jwksUri: issuer.jwksUri }], kubernetes: {} });
  authenticator = await JwtAuthenticator.create(config.issuers, {});
});
afterAll(() => issuer.close());

/** What the real authenticator says about a header, as a metric label. */
async function rejection(authorization: string | undefined): Promise<JwtRejection> {
  const err = await authenticator.authenticate(authorization).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AuthError)) throw new Error(`not refused: ${String(err)}`);
  return jwtRejectionOf(err);
}

describe("why a token was refused, as a closed set of labels", () => {
  it("tells each kind of refusal of the real authenticator apart", async () => {
    const good = await issuer.mint({ sub: "svc" });
    const [header, payload, signature] = good.split(".");
    // A character in the middle: still canonical base64url, no longer the signature.
    const tampered = `${header}.${payload}.${signature!.slice(0, 10)}${signature![10] === "A" ? "B" : "A"}${signature!.slice(11)}`;
    expect(await rejection(undefined)).toBe("missing");
    expect(await rejection("Basic abc")).toBe("missing");
    expect(await rejection(`Bearer ${"a".repeat(9000)}`)).toBe("header_too_long");
    expect(await rejection("Bearer not-a-jwt")).toBe("malformed");
    expect(await rejection(`Bearer ${await issuer.mint({ sub: "svc" }, { expiresIn: -3600 })}`)).toBe("expired");
    expect(await rejection(`Bearer ${await issuer.mint({ sub: "svc" }, { audience: "someone-else" })}`)).toBe("claim_invalid");
    expect(await rejection(`Bearer ${await issuer.mint({ sub: "svc" }, { issuer: "https://elsewhere.example" })}`)).toBe("untrusted_issuer");
    expect(await rejection(`Bearer ${await issuer.mint({ sub: "svc" }, { header: { jku: "https://evil.example/jwks" } })}`)).toBe("embedded_key");
    expect(await rejection(`Bearer ${await issuer.mint({ sub: "svc" }, { kid: "unknown-kid" })}`)).toBe("unknown_key");
    expect(await rejection(`Bearer ${await issuer.mint({ sub: "line\nbreak" })}`)).toBe("unusable_subject");
    expect(await rejection(`Bearer ${tampered}`)).toBe("bad_signature");
  });

  it("counts wording it does not know as other", () => {
    expect(jwtRejectionOf({ internal: "verification failed: ERR_SOMETHING_NEW" })).toBe("other");
    expect(jwtRejectionOf({ internal: "lock deploy-prod and subject alice" })).toBe("other");
    expect(jwtRejectionOf({ internal: undefined })).toBe("other");
  });
});
