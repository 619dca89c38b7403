import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { AuthError } from "../../src/auth/caller.ts";
import { JwtAuthenticator } from "../../src/auth/jwt-authenticator.ts";
import { issuerSchema } from "../../src/config/schema.ts";

// The real jose, watched: whether a token was decoded at all is what the size limit is about.
vi.mock("jose", async (importOriginal) => {
  const jose = await importOriginal<typeof import("jose")>();
  return { ...jose, decodeProtectedHeader: vi.fn(jose.decodeProtectedHeader), decodeJwt: vi.fn(jose.decodeJwt) };
});
const jose = await import("jose");

const AUDIENCE = "leasegate";
const LARGE = "https://large.example";
const SMALL = "https://small.example";
const LARGE_MAX_TOKEN_BYTES = 16384;
const SMALL_MAX_TOKEN_BYTES = 1024;

let signingKey: CryptoKey;
let publicJwk: JWK;
/** Trusts LARGE (16 KiB tokens) and SMALL (1 KiB tokens). */
let authenticator: JwtAuthenticator;
/** One issuer with the default limit of 8 KiB. */
let defaults: JwtAuthenticator;

const mint = (issuer: string, claims: Record<string, unknown> = {}) =>
  new SignJWT({ sub: "svc-a", ...claims })
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(signingKey);

async function refusal(auth: JwtAuthenticator, authorization: string | undefined): Promise<AuthError> {
  try {
    await auth.authenticate(authorization);
  } catch (err) {
    if (err instanceof AuthError) return err;
    throw err;
  }
  throw new Error(`accepted: ${authorization?.slice(0, 80)}`);
}

beforeAll(async () => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  signingKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256" };
  const issuer = (name: string, maxTokenBytes?: number) =>
    issuerSchema.parse({ issuer: name, audiences: [AUDIENCE], jwks: { keys: [publicJwk] }, algorithms: ["ES256"], maxTokenBytes });
  authenticator = await JwtAuthenticator.create([issuer(LARGE, LARGE_MAX_TOKEN_BYTES), issuer(SMALL, SMALL_MAX_TOKEN_BYTES)], {});
  defaults = await JwtAuthenticator.create([issuer(LARGE)], {});
});

describe("the Authorization header", () => {
  it.each([
    ["Bearer %s"],
    ["bearer %s"],
    ["BEARER %s"],
    ["bEaReR %s"],
    ["Bearer   %s"],
    [" \t Bearer %s\t "],
    [`Bearer${" ".repeat(60)}%s`],
  ])("accepts %j", async (shape) => {
    const token = await mint(LARGE);
    const caller = await authenticator.authenticate(shape.replace("%s", token));
    expect(caller).toMatchObject({ issuer: LARGE, subject: "svc-a" });
  });

  it.each([
    ["no header", () => undefined],
    ["an empty header", () => ""],
    ["the scheme alone", () => "Bearer"],
    ["the scheme and spaces", () => "Bearer    "],
    ["no space after the scheme", (t: string) => `Bearer${t}`],
    ["a tab after the scheme", (t: string) => `Bearer\t${t}`],
    ["a no-break space after the scheme", (t: string) => `Bearer\u00a0${t}`],
    ["a no-break space after the token (not HTTP whitespace)", (t: string) => `Bearer ${t}\u00a0`],
    ["a no-break space before the scheme", (t: string) => `\u00a0Bearer ${t}`],
    ["a line feed after the token", (t: string) => `Bearer ${t}\n`],
    ["another scheme", (t: string) => `Token ${t}`],
    ["a scheme that only folds to 'bearer' outside ASCII", (t: string) => `\u0181earer ${t}`],
    ["the token twice", (t: string) => `Bearer ${t} ${t}`],
    ["base64 padding after the token", (t: string) => `Bearer ${t}==`],
    ["a character outside the compact JWS alphabet", (t: string) => `Bearer ${t.slice(0, 20)}+${t.slice(21)}`],
    ["the signature's spare bits set", (t: string) => {
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      return `Bearer ${t.slice(0, -1)}${alphabet[alphabet.indexOf(t.at(-1)!) + 1]}`;
    }],
  ])("refuses %s", async (_, make) => {
    const error = await refusal(authenticator, make(await mint(LARGE)));
    expect(error.reason).toBe("unauthenticated");
  });

  it("is refused unread when longer than the scheme, a little whitespace and the largest token any issuer accepts", async () => {
    const token = await mint(LARGE);
    const error = await refusal(authenticator, `Bearer ${" ".repeat(LARGE_MAX_TOKEN_BYTES)}${token}`);
    expect(error.internal).toBe("authorization header too long");
    expect((await refusal(defaults, `Bearer ${"A".repeat(9000)}`)).internal).toBe("authorization header too long");
  });

  it("costs time linear in its length, however much whitespace it holds", async () => {
    // Trimming with /^[ \t]+|[ \t]+$/ costs about 0.37 s for the first of these, 1.2 s for the second.
    const headers = [
      `Bearer${" ".repeat(16_200)}x`,
      `Bearer${" ".repeat(32_000)}x`,
      `${" ".repeat(16_000)}Bearer x`,
      `Bearer x${" \t".repeat(8_000)}y`,
      `Bearer${" ".repeat(16_200)}`,
      `${"\t".repeat(16_300)}x`,
    ];
    // For both limits: 16 KiB parses the first header in full, 8 KiB refuses it by its length.
    const rounds = 20;
    // 240 refusals; the trimming regular expression would take over 100 s.
    const boundMs = 1000;
    const started = performance.now();
    let refused = 0;
    rounds: for (let round = 0; round < rounds; round++) {
      for (const auth of [authenticator, defaults]) {
        for (const header of headers) {
          if ((await refusal(auth, header)).reason === "unauthenticated") refused++;
          if (performance.now() - started > boundMs) break rounds;
        }
      }
    }
    expect(performance.now() - started).toBeLessThan(boundMs);
    expect(refused).toBe(rounds * 2 * headers.length);
  });
});

describe("maxTokenBytes", () => {
  it("refuses a token longer than any issuer accepts before decoding any of it", async () => {
    vi.mocked(jose.decodeProtectedHeader).mockClear();
    vi.mocked(jose.decodeJwt).mockClear();
    // Within the header's length limit, so only the token's own limit can refuse them.
    const notJson = `${"A".repeat(LARGE_MAX_TOKEN_BYTES - 6)}.e30.AA`;
    const header = Buffer.from(JSON.stringify({ alg: "ES256" })).toString("base64url");
    let fromStranger = "";
    for (let pad = (LARGE_MAX_TOKEN_BYTES * 3) / 4 - 64; fromStranger.length <= LARGE_MAX_TOKEN_BYTES; pad++) {
      const payload = Buffer.from(JSON.stringify({ iss: "https://stranger.example", pad: "x".repeat(pad) })).toString("base64url");
      fromStranger = `${header}.${payload}.AA`;
    }
    for (const token of [notJson, fromStranger]) {
      expect(token.length).toBeGreaterThan(LARGE_MAX_TOKEN_BYTES);
      expect((await refusal(authenticator, `Bearer ${token}`)).internal).toBe("token too large");
    }
    expect(jose.decodeProtectedHeader).not.toHaveBeenCalled();
    expect(jose.decodeJwt).not.toHaveBeenCalled();
    // Control: a token within the limit is decoded, through the very functions watched above.
    await authenticator.authenticate(`Bearer ${await mint(LARGE)}`);
    expect(jose.decodeProtectedHeader).toHaveBeenCalled();
  });

  it("still applies per issuer once the token names its issuer", async () => {
    const padding = { padding: "x".repeat(1500) };
    const fromSmall = await mint(SMALL, padding);
    const fromLarge = await mint(LARGE, padding);
    expect(fromSmall.length).toBeGreaterThan(SMALL_MAX_TOKEN_BYTES);
    expect((await refusal(authenticator, `Bearer ${fromSmall}`)).internal).toBe("token too large");
    expect(await authenticator.authenticate(`Bearer ${fromLarge}`)).toMatchObject({ issuer: LARGE });
    expect(await authenticator.authenticate(`Bearer ${await mint(SMALL)}`)).toMatchObject({ issuer: SMALL });
  });

  it("accepts a token of exactly the largest limit", async () => {
    const unpadded = await mint(LARGE, { padding: "" });
    // Each 4 base64url characters of payload carry 3 bytes of JSON; fill to the exact length.
    let padding = "x".repeat(Math.floor(((LARGE_MAX_TOKEN_BYTES - unpadded.length) * 3) / 4));
    let token = await mint(LARGE, { padding });
    while (token.length < LARGE_MAX_TOKEN_BYTES) token = await mint(LARGE, { padding: (padding += "x") });
    while (token.length > LARGE_MAX_TOKEN_BYTES) token = await mint(LARGE, { padding: (padding = padding.slice(1)) });
    expect(token.length).toBeLessThanOrEqual(LARGE_MAX_TOKEN_BYTES);
    expect(token.length).toBeGreaterThan(LARGE_MAX_TOKEN_BYTES - 4);
    expect(await authenticator.authenticate(`Bearer ${token}`)).toMatchObject({ issuer: LARGE });
  });
});

describe("the subject", () => {
  it.each([
    ["a newline", "svc\n::stop-commands::x"],
    ["an escape sequence", "svc\u001b[2J"],
    ["a right-to-left override", "svc\u202Eexe.txt"],
    ["a C1 control", "svc\u0085"],
  ])("is refused when it carries %s: it is shown to other callers", async (_, sub) => {
    const err = await refusal(authenticator, `Bearer ${await mint(LARGE, { sub })}`);
    expect(err.reason).toBe("unauthenticated");
    expect(err.internal).toContain("not a usable subject");
  });

  it("is accepted as printable Unicode", async () => {
    const caller = await authenticator.authenticate(`Bearer ${await mint(LARGE, { sub: "repo:acme/déploiement:ref:refs/heads/main ✓" })}`);
    expect(caller.subject).toBe("repo:acme/déploiement:ref:refs/heads/main ✓");
  });
});
