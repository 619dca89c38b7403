import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectlJson } from "../support/cluster.ts";
import type { FaultProxy } from "../support/fault-proxy.ts";
import { gatewayBearerToken, type GatewayHandle, startProxiedGateway, TEST_TOKEN_KEY } from "../support/gateway.ts";
import { type Call, callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { flipMiddle, segments } from "../support/security-jwt.ts";

/**
 * A realistic session — grants, renewals, releases, refused callers, backend failures, a force
 * release — and then a search of everything the gateway logged and everything other callers
 * were told, for lock tokens, JWTs and the gateway's own Kubernetes credentials.
 */
const AUDIENCE = "leasegate";
let issuer: OidcIssuer;
let proxy: FaultProxy;
let gw: GatewayHandle;
let namespace: string;

/** Every response, by who received it. */
const received: Array<{ who: string; call: Call }> = [];
/** Every secret that came into play, by what it is. */
const secrets = new Map<string, string>();

function rememberJwt(name: string, jwt: string): string {
  secrets.set(`JWT ${name}`, jwt);
  secrets.set(`JWT ${name} (signature)`, segments(jwt)[2]);
  return jwt;
}

function rememberLockToken(name: string, token: unknown): string {
  expect(typeof token).toBe("string");
  const [, , secret, mac] = (token as string).split(".");
  secrets.set(`lock token ${name}`, token as string);
  secrets.set(`lock token ${name} (secret)`, secret!);
  secrets.set(`lock token ${name} (MAC)`, mac!);
  return token as string;
}

async function call(who: string, jwt: string | undefined, method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const res = await callGateway(gw.url, method, path, { jwt, body, headers });
  received.push({ who, call: res });
  return res;
}

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  ({ gw, proxy, namespace } = await startProxiedGateway("sec-secrets", {
    kubernetes: { requestTimeoutMs: 1500 },
    config: {
      issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
      policy: [
        { match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] },
        { match: { sub: "ops" }, actions: ["admin", "read"], locks: ["*"] },
      ],
    },
  }));
  const bearer = gatewayBearerToken();
  secrets.set("apiserver bearer token", bearer);
  if (bearer.split(".").length === 3) secrets.set("apiserver bearer token (signature)", segments(bearer)[2]);
  secrets.set("lock token key", TEST_TOKEN_KEY);
});

afterAll(async () => {
  proxy?.setRule(() => ({ kind: "pass" }));
  await gw?.stop();
  await proxy?.close();
  await issuer?.close();
});

describe("secrets", () => {
  it("a realistic session runs as expected", async () => {
    const alice = rememberJwt("alice", await issuer.mint({ sub: "svc-alice" }));
    const bob = rememberJwt("bob", await issuer.mint({ sub: "svc-bob" }));
    const ops = rememberJwt("ops", await issuer.mint({ sub: "ops" }));
    const expired = rememberJwt("expired", await issuer.mint({ sub: "svc-alice" }, { expiresIn: -600 }));
    const [h, p, s] = segments(await issuer.mint({ sub: "svc-mallory" }));
    const tampered = rememberJwt("tampered", `${h}.${p}.${flipMiddle(s)}`);
    secrets.set("basic password", "hunter2-correct-horse");

    // Alice: an idempotent acquisition, retried, renewed, inspected and released.
    const idem = { "idempotency-key": "pipeline-4711" };
    const grant = await call("alice", alice, "POST", "/locks/deploy/acquire", { holder: "ci-1", ttlSeconds: 60, metadata: { commit: "abc123" } }, idem);
    expect(grant.status).toBe(200);
    rememberLockToken("deploy", grant.body.token);
    const retried = await call("alice", alice, "POST", "/locks/deploy/acquire", { holder: "ci-1", ttlSeconds: 60 }, idem);
    expect(retried.body.token).toBe(grant.body.token);
    expect((await call("alice", alice, "POST", "/locks/deploy/renew", { token: grant.body.token, ttlSeconds: 90 })).status).toBe(200);
    expect((await call("alice", alice, "GET", "/locks/deploy")).status).toBe(200);

    // Bob meanwhile: refused while it is held, sees its state, tries Alice's key and a made-up token.
    expect((await call("bob", bob, "POST", "/locks/deploy/acquire", { ttlSeconds: 30 })).body.code).toBe("lock_held");
    expect((await call("bob", bob, "POST", "/locks/deploy/acquire", {}, idem)).body.code).toBe("lock_held");
    expect((await call("bob", bob, "GET", "/locks/deploy")).body.status).toBe("held");
    expect((await call("bob", bob, "GET", "/locks?limit=50")).status).toBe(200);
    const fencing = grant.body.fencingToken as string;
    expect((await call("bob", bob, "POST", "/locks/deploy/release", { token: `lg2.${fencing}.${"A".repeat(43)}.AAAA.${"B".repeat(42)}A` })).body.code).toBe("not_holder");
    // A lock token in the wrong place: sent for another lock.
    expect((await call("alice", alice, "POST", "/locks/other/renew", { token: grant.body.token })).body.code).toBe("not_holder");
    expect((await call("alice", alice, "POST", "/locks/deploy/release", { token: grant.body.token })).body).toEqual({ released: true });

    // Refused callers, some with secrets of their own in the header.
    for (const [who, headers] of [
      ["expired", { authorization: `Bearer ${expired}` }],
      ["tampered", { authorization: `Bearer ${tampered}` }],
      ["basic", { authorization: `Basic ${Buffer.from("svc-alice:hunter2-correct-horse").toString("base64")}` }],
      ["scheme-less", { authorization: alice }],
      ["garbage", { authorization: `Bearer ${alice}.extra` }],
    ] as const) {
      expect((await call(who, undefined, "POST", "/locks/deploy/acquire", {}, headers)).status).toBe(401);
    }
    expect((await call("bob", bob, "DELETE", "/locks/deploy")).status).toBe(403);

    // Bob's grant, with the apiserver failing under it: 5xx, timeouts and refusals of the gateway's identity.
    const bobs = await call("bob", bob, "POST", "/locks/build/acquire", { ttlSeconds: 120 });
    expect(bobs.status).toBe(200);
    rememberLockToken("build", bobs.body.token);
    proxy.setRule((method) => (method === "PATCH" ? { kind: "status", status: 500 } : { kind: "pass" }));
    expect((await call("bob", bob, "POST", "/locks/build/renew", { token: bobs.body.token })).status).toBe(503);
    proxy.setRule(() => ({ kind: "drop" }));
    expect((await call("bob", bob, "GET", "/locks/build")).status).toBe(503);
    proxy.setRule(() => ({ kind: "delay", ms: 2500 }));
    expect((await call("bob", bob, "POST", "/locks/build/release", { token: bobs.body.token })).status).toBe(503);
    // Refused although the apiserver says it is ready: Alice's renewal proved this permission
    // moments ago, so the refusal is taken for another apiserver still warming up behind a load
    // balancer (503, see src/kube/refusal-triage.ts). Its detail must not leak a secret either.
    proxy.setRule((_method, path) => (path.startsWith("/readyz") ? { kind: "pass" } : { kind: "status", status: 403 }));
    expect((await call("bob", bob, "POST", "/locks/build/renew", { token: bobs.body.token })).status).toBe(503);
    proxy.setRule(() => ({ kind: "status", status: 401 }));
    expect((await call("bob", bob, "GET", "/locks?limit=5")).status).toBe(502);
    proxy.setRule(() => ({ kind: "pass" }));

    // The delayed release reaches the apiserver after the gateway gave up on it; let it land.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await call("bob", bob, "POST", "/locks/build/release", { token: bobs.body.token })).status).toBe(200);

    // An operator ends another of Bob's grants; Bob finds out.
    const nightly = await call("bob", bob, "POST", "/locks/nightly/acquire", { ttlSeconds: 600 });
    rememberLockToken("nightly", nightly.body.token);
    expect((await call("ops", ops, "DELETE", "/locks/nightly")).body).toEqual({ released: true });
    expect((await call("bob", bob, "POST", "/locks/nightly/renew", { token: nightly.body.token })).body.code).toBe("lock_lost");

    const again = await call("alice", alice, "POST", "/locks/build/acquire", { ttlSeconds: 30 });
    expect(again.status).toBe(200);
    rememberLockToken("build (alice)", again.body.token);
    expect((await call("alice", alice, "POST", "/locks/build/release", { token: again.body.token })).body).toEqual({ released: true });
  });

  it("the gateway's logs hold none of the session's secrets", async () => {
    await new Promise((r) => setTimeout(r, 200));
    const logs = gw.logs();
    // The log is not empty: requests, refusals and backend failures were all recorded.
    for (const expected of ["/locks/deploy/acquire", "request refused", "kubernetes backend failure", "lock force-released"]) {
      expect(logs).toContain(expected);
    }
    expect(secrets.size).toBeGreaterThan(10);
    for (const [what, value] of secrets) {
      expect(value.length, what).toBeGreaterThanOrEqual(8);
      expect(logs.includes(value), `${what} appears in the gateway's logs`).toBe(false);
    }
  });

  it("no response tells a caller another caller's secrets, nor anyone the gateway's credentials", async () => {
    const ownedBy = (what: string) => (what.startsWith("JWT ") ? what.slice(4).split(" ")[0] : undefined);
    const lockTokenOwner: Record<string, string> = { deploy: "alice", build: "bob", nightly: "bob", "build (alice)": "alice" };
    for (const { who, call: res } of received) {
      const seen = JSON.stringify({ headers: Object.fromEntries(res.headers), body: res.body });
      for (const [what, value] of secrets) {
        const lockToken = /^lock token (.+?)( \((secret|MAC)\))?$/.exec(what)?.[1];
        const owner = lockToken ? lockTokenOwner[lockToken] : ownedBy(what);
        if (owner === who) continue; // a holder is of course told its own token
        expect(seen.includes(value), `${what} was sent to ${who}`).toBe(false);
      }
    }
  });

  it("the Leases hold verifiers only, never a lock token or its secret", async () => {
    const leases = JSON.stringify(await kubectlJson(["get", "leases", "-n", namespace, "-o", "json"]));
    for (const [what, value] of secrets) {
      if (what.startsWith("lock token")) expect(leases.includes(value), what).toBe(false);
    }
  });
});
