import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultProxy } from "../support/fault-proxy.ts";
import { type RawClient, rawClient } from "../support/fuzz-client.ts";
import { type GatewayHandle, startProxiedGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { expectBareRefusal, type LeaseSnapshot, leaseSnapshot } from "../support/security-assert.ts";
import { type JwksServer, signingKey, startJwksServer } from "../support/security-jwks.ts";
import { b64url, flipMiddle, publicKeyForms, segments, signCompact } from "../support/security-jwt.ts";

/**
 * Forged, altered and malformed bearer tokens against the real gateway in front of the real
 * apiserver. Every one must be answered 401 with nothing but the short code, before the gateway
 * sends a single request to Kubernetes — checked at a counting proxy — and no Lease may change.
 */
const AUDIENCE = "leasegate";
const ADMIN = { sub: "ops", groups: ["admins"] };
const HOLDER = { sub: "team-a:mallory" };
type Claims = Record<string, unknown>;

let issuer: OidcIssuer;
let partner: OidcIssuer;
let rogue: OidcIssuer;
let attackerJwks: JwksServer;
let attacker: Awaited<ReturnType<typeof signingKey>>;
let proxy: FaultProxy;
let gw: GatewayHandle;
let client: RawClient;
let namespace: string;

const now = () => Math.floor(Date.now() / 1000);
/** The claims a valid token of the main issuer carries, plus `claims`. */
const std = (claims: Claims): Claims => ({ iss: issuer.issuer, aud: AUDIENCE, iat: now(), exp: now() + 300, ...claims });
const realKey = () => issuer.keys.rs256;

async function send(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await client.send({
    method,
    path,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
  });
  return {
    status: res.status,
    contentType: res.headers["content-type"],
    body: res.json,
    wwwAuthenticate: res.headers["www-authenticate"] as string | undefined,
  };
}
const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

beforeAll(async () => {
  [issuer, partner, rogue] = await Promise.all([
    startOidcIssuer({ defaultAudience: AUDIENCE }),
    startOidcIssuer({ defaultAudience: AUDIENCE }),
    startOidcIssuer({ defaultAudience: AUDIENCE }),
  ]);
  attacker = await signingKey("attacker-1");
  attackerJwks = await startJwksServer([attacker.publicJwk]);
  ({ gw, proxy, namespace } = await startProxiedGateway("sec-jwt", {
    config: {
      issuers: [
        { issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri },
        // A second trusted issuer, configured with a PEM key rather than a JWKS.
        { issuer: partner.issuer, audiences: [AUDIENCE], publicKeys: [publicKeyForms(partner.jwks().keys[0]!).pem], algorithms: ["RS256"] },
      ],
      policy: [
        { match: { sub: "team-a:*" }, actions: ["acquire", "renew", "release", "read"], locks: ["team-a-*"] },
        { match: { sub: "ops", groups: "admins" }, actions: ["admin", "read"], locks: ["*"] },
      ],
    },
  }));
  client = rawClient(gw.url);
});

afterAll(async () => {
  client?.close();
  await gw?.stop();
  await proxy?.close();
  await attackerJwks?.close();
  await Promise.all([issuer?.close(), partner?.close(), rogue?.close()]);
});

describe("controls: tokens built the same way but correctly are accepted", () => {
  it("accepts a hand-signed RS256 token, an ES256 token and the partner issuer's token", async () => {
    const rs = signCompact({ alg: "RS256", kid: "rs-1", typ: "JWT" }, std({ sub: "team-a:control" }), "RS256", realKey());
    const es = signCompact({ alg: "ES256", kid: "es-1", typ: "JWT" }, std({ sub: "team-a:control" }), "ES256", issuer.keys.es256);
    const fromPartner = await partner.mint({ sub: "team-a:partner" });
    for (const [i, jwt] of [rs, es, fromPartner].entries()) {
      const grant = await send("POST", `/locks/team-a-control-${i}/acquire`, bearer(jwt), { ttlSeconds: 30 });
      expect(grant.status, JSON.stringify(grant.body)).toBe(200);
      const released = await send("POST", `/locks/team-a-control-${i}/release`, bearer(jwt), { token: grant.body!.token });
      expect(released.body).toEqual({ released: true });
    }
  });
});

describe("forged, altered and malformed tokens", () => {
  let before: LeaseSnapshot;

  beforeAll(async () => {
    // A live grant that forged admin tokens will try to force-release.
    const alice = await issuer.mint({ sub: "team-a:alice" });
    const held = await send("POST", "/locks/team-a-held/acquire", bearer(alice), { ttlSeconds: 600 });
    expect(held.status).toBe(200);
    before = await leaseSnapshot(namespace);
  });

  const attacks: Array<[string, (claims: Claims) => Promise<string> | string]> = [
    ["alg none with an empty signature", (c) => signCompact({ alg: "none", typ: "JWT" }, std(c), "none")],
    ["alg 'None' carrying a real signature of other claims", async (c) => {
      const [, , sig] = segments(await issuer.mint({ sub: "nobody" }));
      return `${b64url({ alg: "None", kid: "rs-1" })}.${b64url(std(c))}.${sig}`;
    }],
    ["HS256 keyed with the issuer's RSA public key as PEM", (c) =>
      signCompact({ alg: "HS256", kid: "rs-1", typ: "JWT" }, std(c), "HS256", publicKeyForms(issuer.jwks().keys[0]!).pem)],
    ["HS256 keyed with the issuer's RSA public key as a JWK", (c) =>
      signCompact({ alg: "HS256", kid: "rs-1", typ: "JWT" }, std(c), "HS256", publicKeyForms(issuer.jwks().keys[0]!).jwkJson)],
    ["PS256 (not allowed for the issuer) signed with the issuer's own RSA key", (c) =>
      signCompact({ alg: "PS256", kid: "rs-1", typ: "JWT" }, std(c), "PS256", realKey())],
    ["an expired token (beyond the clock tolerance)", (c) => issuer.mint(c, { expiresIn: -120 })],
    ["a token whose nbf is beyond the clock tolerance", (c) => issuer.mint(c, { expiresIn: 3600, notBefore: 600 })],
    ["a token without exp", (c) => issuer.mint(c, { expiresIn: null })],
    ["a token whose exp is a string", (c) => signCompact({ alg: "RS256", kid: "rs-1" }, std({ ...c, exp: String(now() + 300) }), "RS256", realKey())],
    ["a wrong iss, signed with a trusted key", (c) => issuer.mint(c, { issuer: "https://evil.example" })],
    ["iss as an array holding the trusted issuer", (c) => signCompact({ alg: "RS256", kid: "rs-1" }, std({ ...c, iss: [issuer.issuer] }), "RS256", realKey())],
    ["a wrong aud", (c) => issuer.mint(c, { audience: "another-service" })],
    ["no aud at all", (c) => {
      const { aud: _aud, ...claims } = std(c);
      return signCompact({ alg: "RS256", kid: "rs-1" }, claims, "RS256", realKey());
    }],
    ["no sub", (c) => {
      const { sub: _sub, ...claims } = std(c);
      return signCompact({ alg: "RS256", kid: "rs-1" }, claims, "RS256", realKey());
    }],
    ["a sub longer than 512 characters", (c) => issuer.mint({ ...c, sub: `${String(c.sub)}${"x".repeat(600)}` })],
    ["an unknown kid, signed with the attacker's key", (c) => signCompact({ alg: "RS256", kid: "rotated-2" }, std(c), "RS256", attacker.privateKey)],
    ["the issuer's kid, signed with the attacker's key", (c) => signCompact({ alg: "RS256", kid: "rs-1" }, std(c), "RS256", attacker.privateKey)],
    ["a payload altered after signing", async (c) => {
      const [h, , s] = segments(await issuer.mint({ sub: "nobody" }));
      return `${h}.${b64url(std(c))}.${s}`;
    }],
    ["a signature altered in the middle", async (c) => {
      const [h, p, s] = segments(await issuer.mint(c));
      return `${h}.${p}.${flipMiddle(s)}`;
    }],
    ["the signature stripped", async (c) => {
      const [h, p] = segments(await issuer.mint(c));
      return `${h}.${p}.`;
    }],
    ["a signature taken from another valid token", async (c) => {
      const [, , s] = segments(await issuer.mint({ sub: "nobody" }));
      return `${b64url({ alg: "RS256", kid: "rs-1", typ: "JWT" })}.${b64url(std(c))}.${s}`;
    }],
    ["a real issuer that is not configured", (c) => rogue.mint(c)],
    ["a real issuer that is not configured, claiming the trusted iss", (c) => rogue.mint(c, { issuer: issuer.issuer })],
    ["the partner issuer's iss, signed with the main issuer's key", (c) =>
      signCompact({ alg: "RS256", typ: "JWT" }, std({ ...c, iss: partner.issuer }), "RS256", realKey())],
    ["an oversized but validly signed token (over maxTokenBytes)", async (c) => {
      const jwt = await issuer.mint({ ...c, padding: "x".repeat(7000) });
      expect(jwt.length).toBeGreaterThan(8192);
      return jwt;
    }],
    ["a crit header naming an unknown extension, signed with the real key", (c) =>
      signCompact({ alg: "RS256", kid: "rs-1", crit: ["urn:example:must-understand"], "urn:example:must-understand": true }, std(c), "RS256", realKey())],
    ["b64:false (unencoded payload) in crit, signed with the real key", (c) =>
      signCompact({ alg: "RS256", kid: "rs-1", b64: false, crit: ["b64"] }, std(c), "RS256", realKey())],
    ["an embedded jwk header with the attacker's key", (c) =>
      signCompact({ alg: "RS256", jwk: attacker.publicJwk }, std(c), "RS256", attacker.privateKey)],
    ["an embedded jwk header, even when signed with the real key", (c) =>
      signCompact({ alg: "RS256", kid: "rs-1", jwk: issuer.jwks().keys[0] }, std(c), "RS256", realKey())],
    ["a jku header pointing at the attacker's key set", (c) =>
      signCompact({ alg: "RS256", kid: "attacker-1", jku: attackerJwks.jwksUri }, std(c), "RS256", attacker.privateKey)],
    ["an x5u header pointing at the attacker's certificate", (c) =>
      signCompact({ alg: "RS256", kid: "attacker-1", x5u: `${attackerJwks.url}/cert.pem` }, std(c), "RS256", attacker.privateKey)],
    ["an x5c header carrying a certificate chain", (c) =>
      signCompact({ alg: "RS256", x5c: [Buffer.from("not really a certificate").toString("base64")] }, std(c), "RS256", attacker.privateKey)],
    ["a JWE-shaped token (five segments)", (c) =>
      [b64url({ alg: "RSA-OAEP", enc: "A256GCM", kid: "rs-1" }), b64url(std(c)), b64url("iv"), b64url("ciphertext"), b64url("tag")].join(".")],
  ];

  it.each(attacks)("refuses %s: bare 401, no Kubernetes request", async (name, forge) => {
    proxy.resetCounts();
    const asAdmin = await forge(ADMIN);
    const asHolder = await forge(HOLDER);
    expectBareRefusal(await send("DELETE", "/locks/team-a-held", bearer(asAdmin)), 401, `${name} (force release)`);
    expectBareRefusal(await send("POST", "/locks/team-a-new/acquire", bearer(asHolder), { ttlSeconds: 60 }), 401, `${name} (acquire)`);
    expectBareRefusal(await send("GET", "/locks/team-a-held", bearer(asHolder)), 401, `${name} (read)`);
    expect(proxy.counts()).toEqual({});
  });

  const headers: Array<[string, (valid: string) => Record<string, string>]> = [
    ["no Authorization header", () => ({})],
    ["an empty Authorization header", () => ({ authorization: "" })],
    ["the scheme alone", () => ({ authorization: "Bearer" })],
    ["garbage after the scheme", () => ({ authorization: "Bearer !!not-a-token!!" })],
    ["only dots", () => ({ authorization: "Bearer .." })],
    ["two segments of a valid token", (v) => ({ authorization: `Bearer ${segments(v).slice(0, 2).join(".")}` })],
    ["Latin-1 bytes", () => ({ authorization: "Bearer \u00ff\u00fe\u00e9t\u00e9" })],
    ["Basic credentials", () => ({ authorization: `Basic ${Buffer.from("team-a:alice:password").toString("base64")}` })],
    ["the valid JWT under the Token scheme", (v) => ({ authorization: `Token ${v}` })],
    ["the valid JWT under the DPoP scheme", (v) => ({ authorization: `DPoP ${v}` })],
    ["the valid JWT without a scheme", (v) => ({ authorization: v })],
    ["the valid JWT twice", (v) => ({ authorization: `Bearer ${v} ${v}` })],
    ["the valid JWT followed by a second credential", (v) => ({ authorization: `Bearer ${v}, Basic YTpi` })],
    ["the valid JWT after a tab instead of a space", (v) => ({ authorization: `Bearer\t${v}` })],
    ["the valid JWT followed by a no-break space (not HTTP whitespace)", (v) => ({ authorization: `Bearer ${v}\u00a0` })],
    ["the valid JWT with base64 padding appended (non-canonical)", (v) => ({ authorization: `Bearer ${v}==` })],
    ["the valid JWT with the signature's spare bits set (non-canonical)", (v) => {
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const [h, p, s] = segments(v);
      const last = alphabet.indexOf(s.at(-1)!);
      return { authorization: `Bearer ${h}.${p}.${s.slice(0, -1)}${alphabet[last + 1]}` };
    }],
    ["a 12 KB token-shaped blob", () => ({ authorization: `Bearer ${"A".repeat(6000)}.${"B".repeat(6000)}.C` })],
    // Whitespace runs as long as Node's 16 KiB header limit lets through.
    ["the scheme, 15,000 spaces and a character", () => ({ authorization: `Bearer${" ".repeat(15_000)}x` })],
    ["the valid JWT, 14,000 spaces and tabs and a character", (v) => ({ authorization: `Bearer ${v}${" \t".repeat(7_000)}x` })],
    ["a token just over maxTokenBytes whose header is not JSON", () => ({ authorization: `Bearer ${"A".repeat(8190)}.e30.AA` })],
  ];

  it.each(headers)("refuses %s: bare 401, no Kubernetes request", async (name, make) => {
    proxy.resetCounts();
    const valid = await issuer.mint(HOLDER);
    expectBareRefusal(await send("POST", "/locks/team-a-new/acquire", make(valid), { ttlSeconds: 60 }), 401, name);
    expect(proxy.counts()).toEqual({});
  });

  it("changed no Lease, and never fetched the keys a token pointed at", async () => {
    expect(await leaseSnapshot(namespace)).toEqual(before);
    expect(attackerJwks.hits()).toBe(0);
    const refusals = gw.logs().split("\n").filter((line) => line.includes('"request refused"'));
    expect(refusals.length).toBeGreaterThanOrEqual(attacks.length * 3 + headers.length);
    expect(gw.logs()).not.toContain("unhandled error");
  });
});
