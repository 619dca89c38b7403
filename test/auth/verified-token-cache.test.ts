import fc from "fast-check";
import { type JWK, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { AuthError, type Caller } from "../../src/auth/caller.ts";
import { JwtAuthenticator, type JwtAuthenticatorOptions } from "../../src/auth/jwt-authenticator.ts";
import { VerifiedTokenCache } from "../../src/auth/verified-token-cache.ts";
import { issuerSchema } from "../../src/config/schema.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { type JwksServer, signingKey, startJwksServer } from "../support/security-jwks.ts";

// The real jose, watched: whether a token's signature was verified again is what the cache is about.
vi.mock("jose", async (importOriginal) => {
  const jose = await importOriginal<typeof import("jose")>();
  return { ...jose, jwtVerify: vi.fn(jose.jwtVerify) };
});
const jose = await import("jose");
const verifications = () => vi.mocked(jose.jwtVerify).mock.calls.length;

const AUDIENCE = "leasegate";
const ISSUER = "https://issuer.example";
const START = Date.parse("2026-11-30T12:00:00.000Z");
const START_SECONDS = START / 1000;

let key: Awaited<ReturnType<typeof signingKey>>;
let clock: FakeClock;

interface TokenTimes {
  /** Seconds since the epoch. */
  exp?: number;
  nbf?: number;
}

const mint = (times: TokenTimes = {}, claims: Record<string, unknown> = {}, signer = key) => {
  const jwt = new SignJWT({ sub: "svc-a", ...claims })
    .setProtectedHeader({ alg: "ES256", kid: signer.kid })
    .setIssuer(ISSUER)
    .setAudience((claims.aud as string | undefined) ?? AUDIENCE)
    .setIssuedAt(START_SECONDS)
    .setExpirationTime(times.exp ?? START_SECONDS + 3600);
  if (times.nbf !== undefined) jwt.setNotBefore(times.nbf);
  return jwt.sign(signer.privateKey);
};

/** Trusts ISSUER with `key`, with the default clock tolerance of 30 s, on the test's clock. */
const authenticator = (options: JwtAuthenticatorOptions = {}) =>
  JwtAuthenticator.create([issuerSchema.parse({ issuer: ISSUER, audiences: [AUDIENCE], jwks: { keys: [key.publicJwk] }, algorithms: ["ES256"] })], {}, {
    clock,
    ...options,
  });

/** A caller as the authenticator makes it, for the cache on its own. */
const callerOf = (subject: string): Caller => ({ issuer: ISSUER, subject, claims: { iss: ISSUER, sub: subject, exp: START_SECONDS + 3600 } });

async function outcome(auth: JwtAuthenticator, authorization: string): Promise<Caller | AuthError> {
  try {
    return await auth.authenticate(authorization);
  } catch (err) {
    if (err instanceof AuthError) return err;
    throw err;
  }
}

beforeAll(async () => {
  key = await signingKey("k1", "ES256");
});

beforeEach(() => {
  clock = new FakeClock(START);
  vi.mocked(jose.jwtVerify).mockClear();
});

describe("a token that verified", () => {
  it("is answered with the very same caller from then on, without verifying it again", async () => {
    const auth = await authenticator();
    const token = await mint();
    const first = await auth.authenticate(`Bearer ${token}`);
    expect(first).toMatchObject({ issuer: ISSUER, subject: "svc-a" });
    // Another spelling of the same header carries the same token.
    expect(await auth.authenticate(`Bearer ${token}`)).toBe(first);
    expect(await auth.authenticate(` bearer   ${token}\t`)).toBe(first);
    expect(verifications()).toBe(1);
  });

  it("gives a caller no request can alter for the next one", async () => {
    const auth = await authenticator();
    const caller = await auth.authenticate(`Bearer ${await mint({}, { groups: ["admins"] })}`);
    expect(Object.isFrozen(caller)).toBe(true);
    expect(() => {
      (caller as { subject: string }).subject = "someone-else";
    }).toThrow(TypeError);
    expect(() => (caller.claims.groups as string[]).push("owners")).toThrow(TypeError);
  });

  it("is verified again from its exp on (the clock tolerance does not extend the entry), and refused when the uncached verifier refuses it", async () => {
    const exp = START_SECONDS + 20;
    const token = `Bearer ${await mint({ exp })}`;
    const auth = await authenticator();
    const uncached = await authenticator({ verifiedTokenCacheSeconds: 0 });
    await auth.authenticate(token);

    clock.advance(19.999);
    await auth.authenticate(token);
    expect(verifications()).toBe(1);

    // At exp: still inside jose's 30 s tolerance, so accepted, but verified and not remembered.
    clock.advance(0.001);
    expect(clock.now().getTime()).toBe(exp * 1000);
    await auth.authenticate(token);
    await auth.authenticate(token);
    expect(verifications()).toBe(3);

    clock.advance(30);
    expect(await outcome(auth, token)).toBeInstanceOf(AuthError);
    expect(await outcome(uncached, token)).toBeInstanceOf(AuthError);
  });

  it("is not remembered at all when it verified only thanks to the clock tolerance", async () => {
    const token = `Bearer ${await mint({ exp: START_SECONDS - 10 })}`;
    const auth = await authenticator();
    await auth.authenticate(token);
    await auth.authenticate(token);
    expect(verifications()).toBe(2);
  });

  it("is remembered no longer than the configured maximum, however far off its exp", async () => {
    const token = `Bearer ${await mint({ exp: START_SECONDS + 86_400 })}`;
    const auth = await authenticator({ verifiedTokenCacheSeconds: 60 });
    await auth.authenticate(token);
    clock.advance(59.999);
    await auth.authenticate(token);
    expect(verifications()).toBe(1);
    clock.advance(0.001);
    await auth.authenticate(token);
    expect(verifications()).toBe(2);
    // Verified again, it is remembered again, for another full period.
    clock.advance(59.999);
    await auth.authenticate(token);
    expect(verifications()).toBe(2);
  });

  it("is not remembered before its nbf, even when accepted within the clock tolerance", async () => {
    const token = `Bearer ${await mint({ nbf: START_SECONDS + 10 })}`;
    const auth = await authenticator();
    await auth.authenticate(token);
    clock.advance(9.999);
    await auth.authenticate(token);
    expect(verifications()).toBe(2);
    clock.advance(0.001);
    await auth.authenticate(token);
    await auth.authenticate(token);
    expect(verifications()).toBe(3);
  });

  it("is not remembered by a clock that went back, beyond what it had verified", async () => {
    const token = `Bearer ${await mint()}`;
    const auth = await authenticator();
    await auth.authenticate(token);
    clock.advance(-3600);
    await auth.authenticate(token);
    expect(verifications()).toBe(2);
  });

  it("is verified every time when the cache is off (0 seconds)", async () => {
    const token = `Bearer ${await mint()}`;
    const auth = await authenticator({ verifiedTokenCacheSeconds: 0 });
    for (let call = 0; call < 3; call++) await auth.authenticate(token);
    expect(verifications()).toBe(3);
  });
});

describe("a token that failed", () => {
  it.each([
    ["for its audience", () => mint({}, { aud: "someone-else" })],
    ["for its subject, after its signature verified", () => mint({}, { sub: "svc\u001b[2J" })],
    ["for its exp", () => mint({ exp: START_SECONDS - 31 })],
  ])("%s is verified again, and refused again, every time", async (_, make) => {
    const token = `Bearer ${await make()}`;
    const auth = await authenticator();
    for (let call = 0; call < 3; call++) expect(await outcome(auth, token)).toBeInstanceOf(AuthError);
    expect(verifications()).toBe(3);
  });

  it("for its nbf is accepted once that time has come", async () => {
    const token = `Bearer ${await mint({ nbf: START_SECONDS + 100 })}`;
    const auth = await authenticator();
    expect(await outcome(auth, token)).toBeInstanceOf(AuthError);
    clock.advance(70);
    expect(await outcome(auth, token)).toMatchObject({ subject: "svc-a" });
  });
});

describe("a remembered token does not vouch for any other text", () => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  it.each([
    ["base64 padding after it", (t: string) => `Bearer ${t}==`],
    ["its signature's spare bits set", (t: string) => `Bearer ${t.slice(0, -1)}${alphabet[alphabet.indexOf(t.at(-1)!) + 1]}`],
    ["it twice", (t: string) => `Bearer ${t} ${t}`],
    ["a no-break space after it", (t: string) => `Bearer ${t}\u00a0`],
    ["no space after the scheme", (t: string) => `Bearer${t}`],
    ["one payload character changed", (t: string) => {
      const [header, payload, signature] = t.split(".") as [string, string, string];
      const changed = payload.slice(0, 10) + (payload[10] === "A" ? "B" : "A") + payload.slice(11);
      return `Bearer ${header}.${changed}.${signature}`;
    }],
    ["its signature cut short", (t: string) => `Bearer ${t.slice(0, -4)}`],
    ["another token's signature", (t: string, other: string) => `Bearer ${t.slice(0, t.lastIndexOf("."))}${other.slice(other.lastIndexOf("."))}`],
  ])("such as %s, which is refused as without the cache", async (_, make) => {
    const token = await mint();
    const auth = await authenticator();
    const uncached = await authenticator({ verifiedTokenCacheSeconds: 0 });
    const caller = await auth.authenticate(`Bearer ${token}`);
    const hostile = make(token, await mint({ exp: START_SECONDS + 7200 }));
    expect(await outcome(auth, hostile)).toBeInstanceOf(AuthError);
    expect(await outcome(uncached, hostile)).toBeInstanceOf(AuthError);
    // The original is still remembered, untouched.
    expect(await auth.authenticate(`Bearer ${token}`)).toBe(caller);
  });
});

describe("the cache never changes an answer", () => {
  it("holds: cached and uncached authenticators accept and refuse the same tokens at the same times", async () => {
    // Tokens around the start, with exp and nbf before, at and after the edges of the 30 s tolerance.
    const times: TokenTimes[] = [
      { exp: START_SECONDS - 40 },
      { exp: START_SECONDS - 5 },
      { exp: START_SECONDS + 1 },
      { exp: START_SECONDS + 45 },
      { exp: START_SECONDS + 75 },
      { exp: START_SECONDS + 200 },
      { exp: START_SECONDS + 100_000 },
      { nbf: START_SECONDS + 20 },
      { nbf: START_SECONDS + 45, exp: START_SECONDS + 90 },
      { nbf: START_SECONDS - 5, exp: START_SECONDS + 60 },
    ];
    const tokens = await Promise.all(times.map((t) => mint(t).then((jwt) => `Bearer ${jwt}`)));
    const step = fc.record({ token: fc.nat({ max: tokens.length - 1 }), advanceMs: fc.oneof(fc.constant(0), fc.nat({ max: 1000 }), fc.nat({ max: 90_000 })) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 90 }), async (steps, seconds) => {
        clock = new FakeClock(START);
        const cached = await authenticator({ verifiedTokenCacheSeconds: seconds, verifiedTokenCacheEntries: 4 });
        const uncached = await authenticator({ verifiedTokenCacheSeconds: 0 });
        for (const { token, advanceMs } of steps) {
          clock.advance(advanceMs / 1000);
          const [withCache, without] = [await outcome(cached, tokens[token]!), await outcome(uncached, tokens[token]!)];
          expect(withCache instanceof AuthError ? "refused" : withCache.claims).toEqual(without instanceof AuthError ? "refused" : without.claims);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe("a flood of distinct valid tokens", () => {
  it("is held to the entry limit, forgetting the least recently used first", async () => {
    const auth = await authenticator({ verifiedTokenCacheEntries: 3 });
    const tokens = await Promise.all([1, 2, 3, 4].map((n) => mint({}, { sub: `svc-${n}` }).then((jwt) => `Bearer ${jwt}`)));
    for (const token of tokens.slice(0, 3)) await auth.authenticate(token);
    await auth.authenticate(tokens[0]!); // used again: now the most recent
    await auth.authenticate(tokens[3]!); // evicts tokens[1]
    expect(verifications()).toBe(4);
    for (const token of [tokens[0]!, tokens[2]!, tokens[3]!]) await auth.authenticate(token);
    expect(verifications()).toBe(4);
    await auth.authenticate(tokens[1]!);
    expect(verifications()).toBe(5);
  });

  it("never grows the cache beyond its number of entries", () => {
    const cache = new VerifiedTokenCache({ maxAgeSeconds: 60, maxEntries: 1000, maxTokenBytes: 1 << 30 });
    let largest = 0;
    for (let n = 0; n < 50_000; n++) {
      cache.remember(`key-${n}`, callerOf(`svc-${n}`), 1500, START, cache.keyGeneration(ISSUER));
      largest = Math.max(largest, cache.size);
    }
    expect(largest).toBe(1000);
    expect(cache.get("key-49999", START)).toMatchObject({ subject: "svc-49999" });
    expect(cache.get("key-48999", START)).toBeUndefined();
  });

  it("never lets the cache stand for more token bytes than its budget, however few the entries", () => {
    const cache = new VerifiedTokenCache({ maxAgeSeconds: 60, maxEntries: 1000, maxTokenBytes: 64 * 1024 });
    let largest = 0;
    for (let n = 0; n < 5000; n++) {
      cache.remember(`key-${n}`, callerOf(`svc-${n}`), 500 + (n % 16) * 512, START, cache.keyGeneration(ISSUER));
      largest = Math.max(largest, cache.tokenBytes);
    }
    expect(largest).toBeLessThanOrEqual(64 * 1024);
    expect(largest).toBeGreaterThan(60 * 1024);
    expect(cache.size).toBeLessThan(100);
    // A token larger than the whole budget is not remembered, and pushes nothing out.
    const size = cache.size;
    cache.remember("huge", callerOf("svc-huge"), 64 * 1024 + 1, START, cache.keyGeneration(ISSUER));
    expect(cache.get("huge", START)).toBeUndefined();
    expect(cache.size).toBe(size);
  });
});

describe("an issuer's keys changing", () => {
  it("leaves nothing remembered that a verification under way while they changed had decided", () => {
    const cache = new VerifiedTokenCache({ maxAgeSeconds: 60, maxEntries: 10, maxTokenBytes: 1 << 20 });
    const caller = callerOf("svc-a");
    cache.remember("before", caller, 1500, START, cache.keyGeneration(ISSUER));
    const underWay = cache.keyGeneration(ISSUER);
    cache.forgetIssuer(ISSUER);
    cache.remember("during", caller, 1500, START, underWay);
    expect(cache.get("before", START)).toBeUndefined();
    expect(cache.get("during", START)).toBeUndefined();
    expect([cache.size, cache.tokenBytes]).toEqual([0, 0]);
    // Other issuers keep theirs.
    const other = { ...caller, issuer: "https://other.example" };
    cache.remember("other", other, 1500, START, cache.keyGeneration(other.issuer));
    cache.forgetIssuer(ISSUER);
    expect(cache.get("other", START)).toBe(other);
  });

  describe("at a remote JWKS", () => {
    let jwks: JwksServer;
    let old: Awaited<ReturnType<typeof signingKey>>;
    let rotated: Awaited<ReturnType<typeof signingKey>>;
    const remote = (options: JwtAuthenticatorOptions) =>
      JwtAuthenticator.create([issuerSchema.parse({ issuer: ISSUER, audiences: [AUDIENCE], jwksUri: jwks.jwksUri, algorithms: ["ES256"] })], {}, options);
    const mintNow = (signer: typeof old, kid = signer.kid) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub: "svc-a" })
        .setProtectedHeader({ alg: "ES256", kid })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(signer.privateKey)
        .then((jwt) => `Bearer ${jwt}`);
    };
    /** jose asks the JWKS again for an unknown kid only 30 s after the last fetch: time, faked for jose too. */
    const pastCooldown = () => vi.setSystemTime(Date.now() + 31_000);

    beforeAll(async () => {
      [old, rotated] = await Promise.all([signingKey("2026-11", "ES256"), signingKey("2026-12", "ES256")]);
      jwks = await startJwksServer();
    });
    beforeEach(() => {
      jwks.setKeys([old.publicJwk as JWK]);
      vi.useFakeTimers({ toFake: ["Date"] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });
    afterAll(() => jwks.close());

    it("forgets the tokens of a key the issuer removed as soon as the new key set is fetched, as the uncached verifier refuses them", async () => {
      const cached = await remote({ verifiedTokenCacheSeconds: 60 });
      const uncached = await remote({ verifiedTokenCacheSeconds: 0 });
      const oldToken = await mintNow(old);
      for (const auth of [cached, uncached]) await auth.authenticate(oldToken);

      // The issuer rotates; until the gateway fetches the key set again, both still accept the old key.
      jwks.setKeys([rotated.publicJwk as JWK]);
      for (const auth of [cached, uncached]) expect(await outcome(auth, oldToken)).toMatchObject({ subject: "svc-a" });

      // A token of the new key makes each fetch the new key set, well inside the cache's 60 s.
      pastCooldown();
      const hits = jwks.hits();
      const newToken = await mintNow(rotated);
      for (const auth of [cached, uncached]) expect(await outcome(auth, newToken)).toMatchObject({ subject: "svc-a" });
      expect(jwks.hits()).toBe(hits + 2);

      const withoutCache = await outcome(uncached, oldToken);
      expect(withoutCache).toBeInstanceOf(AuthError);
      expect(await outcome(cached, oldToken)).toEqual(withoutCache);
    });

    it("keeps what it remembered when a fetch brings the same keys again (as a made-up kid provokes)", async () => {
      const cached = await remote({ verifiedTokenCacheSeconds: 60 });
      const token = await mintNow(old);
      await cached.authenticate(token);
      pastCooldown();
      const hits = jwks.hits();
      expect(await outcome(cached, await mintNow(old, "made-up"))).toBeInstanceOf(AuthError);
      expect(jwks.hits()).toBe(hits + 1);
      vi.mocked(jose.jwtVerify).mockClear();
      await cached.authenticate(token);
      expect(verifications()).toBe(0);
    });
  });
});
