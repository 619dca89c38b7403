import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultProxy } from "../support/fault-proxy.ts";
import { type GatewayHandle, startProxiedGateway } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { expectBareRefusal, leaseSnapshot, writeRequests } from "../support/security-assert.ts";
import { type JwksServer, signingKey, startJwksServer } from "../support/security-jwks.ts";
import { signCompact } from "../support/security-jwt.ts";

/**
 * The issuer's JWKS endpoint fails (500, hangs, refuses connections) just as the issuer rotates
 * to a new key.
 *
 * Decision: such a token is answered 401, not 503. The gateway could not verify it, and an
 * unverifiable token is unauthenticated whatever the reason; a 503 would let anyone with a
 * made-up `kid` produce responses that look like (and page people as) a gateway outage, and
 * would tell callers about the issuer's infrastructure. README reserves 503 for Kubernetes being
 * unavailable. Availability is kept where it safely can be: keys already cached keep working
 * while the endpoint is down, and nothing unverified is ever accepted on the strength of them.
 * This is what the code does (jose's remote JWKS, errors mapped to `unauthenticated`).
 */
const AUDIENCE = "leasegate";
const COOLDOWN_MS = 30_000; // createRemoteJWKSet cooldownDuration in src/auth/remote-key-set.ts

let jwks: JwksServer;
let proxy: FaultProxy;
let gw: GatewayHandle;
let namespace: string;
let current: Awaited<ReturnType<typeof signingKey>>;
let rotated: Awaited<ReturnType<typeof signingKey>>;
let warmedAt = 0;

const token = (key: typeof current, sub = "svc-ci") => {
  const now = Math.floor(Date.now() / 1000);
  return signCompact({ alg: "RS256", kid: key.kid, typ: "JWT" }, { iss: jwks.url, aud: AUDIENCE, sub, iat: now, exp: now + 600 }, "RS256", key.privateKey);
};
const call = (method: string, path: string, jwt?: string, body?: unknown) => callGateway(gw.url, method, path, { jwt, body });
const refused = async (jwt: string, name: string) => {
  const res = await call("POST", `/locks/${name}/acquire`, jwt, { ttlSeconds: 60 });
  expectBareRefusal({ status: res.status, contentType: res.headers.get("content-type"), body: res.body, wwwAuthenticate: res.headers.get("www-authenticate") }, 401, name);
};
const stillServing = async () => {
  expect((await call("GET", "/healthz")).status).toBe(200);
  // A token signed with a key that was cached before the outage keeps working.
  expect((await call("GET", "/locks", token(current))).status).toBe(200);
};

beforeAll(async () => {
  [current, rotated] = await Promise.all([signingKey("2026-11"), signingKey("2026-12")]);
  jwks = await startJwksServer([current.publicJwk]);
  ({ gw, proxy, namespace } = await startProxiedGateway("sec-jwks", {
    config: {
      issuers: [{ issuer: jwks.url, audiences: [AUDIENCE], jwksUri: jwks.jwksUri }],
      policy: [{ match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
    },
  }));
});

afterAll(async () => {
  await gw?.stop();
  await proxy?.close();
  await jwks?.close();
});

describe("when the issuer's JWKS endpoint is down", () => {
  it("accepts tokens of the published key before the outage (the key set is cached)", async () => {
    expect((await call("GET", "/locks", token(current))).status).toBe(200);
    expect(jwks.hits()).toBe(1);
    warmedAt = Date.now();
    proxy.resetCounts();
  });

  it("answers 401, not 503, to a token signed with a new key while the JWKS answers 500", async () => {
    jwks.setMode("error");
    await refused(token(rotated), "new-key-during-500");
    await stillServing();
  });

  it("asks the JWKS again after the cool-down, gets 500 although the issuer now publishes the key, and still answers 401, not 503", async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, warmedAt + COOLDOWN_MS + 1000 - Date.now())));
    jwks.setKeys([current.publicJwk, rotated.publicJwk]);
    const hits = jwks.hits();
    await refused(token(rotated), "new-key-after-cooldown");
    expect(jwks.hits()).toBeGreaterThan(hits);
    await stillServing();
  }, 60_000);

  it("answers 401, not 503, within the fetch timeout when the JWKS hangs", async () => {
    jwks.setMode("hang");
    const started = Date.now();
    await refused(token(rotated), "new-key-while-hanging");
    expect(Date.now() - started).toBeLessThan(8000);
    jwks.setMode("error");
    await stillServing();
  }, 30_000);

  it("answers 401, not 503, when the JWKS server is gone (connection refused), and keeps serving", async () => {
    await jwks.stop();
    await refused(token(rotated), "new-key-server-gone");
    await refused(token(rotated, "svc-other"), "new-key-server-gone-2");
    await stillServing();
  });

  it("wrote nothing to Kubernetes during the outage", async () => {
    expect(writeRequests(proxy.counts())).toBe(0);
    expect(await leaseSnapshot(namespace)).toEqual({});
    expect(gw.logs()).not.toContain("unhandled error");
  });

  it("accepts the new key once the JWKS is back and publishes it", async () => {
    await jwks.restart();
    jwks.setMode("ok");
    const grant = await call("POST", "/locks/after-recovery/acquire", token(rotated), { ttlSeconds: 30 });
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    expect((await call("POST", "/locks/after-recovery/release", token(rotated), { token: grant.body.token })).body).toEqual({ released: true });
  });
});
