import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectlJson, newTestNamespace } from "../support/cluster.ts";
import { type GatewayHandle, startNodeGateway, startWorkerGateway } from "../support/gateway.ts";
import { callGateway, kubeRequests } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * The product end to end: the real gateway on Node and in workerd, a real kube-apiserver with
 * etcd behind it under a least-privilege identity, and real JWTs from a local issuer.
 */
const AUDIENCE = "leasegate";
let issuer: OidcIssuer;

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
});
afterAll(() => issuer.close());

const gatewayConfig = () => ({
  issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
  policy: [
    { match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] },
    { match: { sub: "ops" }, actions: ["admin", "read"], locks: ["*"] },
  ],
  skewAllowanceSeconds: 0,
});

describe.each([
  ["node", startNodeGateway],
  ["workerd", startWorkerGateway],
] as const)("gateway on %s against a real kube-apiserver", (runtime, start) => {
  let gw: GatewayHandle;
  let namespace: string;
  let alice: string;
  let bob: string;
  const call = (method: string, path: string, options: Parameters<typeof callGateway>[3] = {}) => callGateway(gw.url, method, path, options);

  beforeAll(async () => {
    namespace = await newTestNamespace(`gw-${runtime}`);
    gw = await start({ namespace, config: gatewayConfig() });
    [alice, bob] = await Promise.all([issuer.mint({ sub: "svc-alice" }), issuer.mint({ sub: "svc-bob" })]);
  });
  afterAll(() => gw?.stop());

  it("runs a full lifecycle within the request budget, and kubectl sees what it wrote", async () => {
    const acquired = await call("POST", "/locks/deploy/acquire", { jwt: alice, body: { holder: "ci-1", ttlSeconds: 30, metadata: { commit: "abc" } } });
    expect(acquired.status, JSON.stringify(acquired.body)).toBe(200);
    // A name used for the first time: read, create free, grant.
    expect(kubeRequests(acquired)).toBe(3);
    const grant = acquired.body as { token: string; fencingToken: string };

    const lease = await kubectlJson(["get", "lease", "deploy", "-n", namespace, "-o", "json"]);
    // The granting write recorded the token: one more than the revision it replaced, at most its own.
    expect(lease.metadata.annotations["leasegate.io/fencing-token"]).toBe(grant.fencingToken);
    expect(BigInt(lease.metadata.resourceVersion)).toBeGreaterThanOrEqual(BigInt(grant.fencingToken));
    expect(lease.metadata.labels["app.kubernetes.io/managed-by"]).toBe("leasegate");
    expect(lease.spec).toMatchObject({ holderIdentity: "ci-1 (svc-alice)", leaseDurationSeconds: 30, leaseTransitions: 0 });
    expect(lease.spec.renewTime).toMatch(/\.\d{6}Z$/);
    expect(JSON.stringify(lease)).not.toContain(grant.token.split(".")[2]);

    const renewed = await call("POST", "/locks/deploy/renew", { jwt: alice, body: { token: grant.token, ttlSeconds: 40 } });
    expect(renewed.status, JSON.stringify(renewed.body)).toBe(200);
    expect(kubeRequests(renewed)).toBe(1);
    expect(renewed.body.fencingToken).toBe(grant.fencingToken);
    const afterRenew = await kubectlJson(["get", "lease", "deploy", "-n", namespace, "-o", "json"]);
    expect(afterRenew.spec.leaseDurationSeconds).toBe(40);
    expect(afterRenew.metadata.annotations["leasegate.io/fencing-token"]).toBe(grant.fencingToken);
    expect(afterRenew.metadata.annotations["leasegate.io/issuer"]).toBe(issuer.issuer);

    const state = await call("GET", "/locks/deploy", { jwt: alice });
    expect(state.body).toMatchObject({ status: "held", fencingToken: grant.fencingToken, holder: "ci-1", metadata: { commit: "abc" } });

    const released = await call("POST", "/locks/deploy/release", { jwt: alice, body: { token: grant.token } });
    expect(released.body).toEqual({ released: true });
    expect(kubeRequests(released)).toBe(1);
    expect((await call("POST", "/locks/deploy/release", { jwt: alice, body: { token: grant.token } })).body).toEqual({ released: false });
    const freed = await kubectlJson(["get", "lease", "deploy", "-n", namespace, "-o", "json"]);
    expect(freed.spec.holderIdentity).toBeUndefined();
    expect(Object.keys(freed.metadata.annotations ?? {}).filter((k) => k !== "leasegate.io/forced-release-by")).toEqual([]);
  });

  it("binds a lock token to its one grant: an earlier grant's token made with the same Idempotency-Key opens nothing later", async () => {
    const key = { "idempotency-key": "ci-run-77" };
    const acquire = (jwt: string, headers: Record<string, string> = {}) => call("POST", "/locks/rerun/acquire", { jwt, headers, body: { ttlSeconds: 30 } });
    const grant1 = (await acquire(alice, key)).body as { token: string; fencingToken: string };
    expect((await call("POST", "/locks/rerun/release", { jwt: alice, body: { token: grant1.token } })).body).toEqual({ released: true });
    const other = (await acquire(bob)).body as { token: string; fencingToken: string };
    expect((await call("POST", "/locks/rerun/release", { jwt: bob, body: { token: other.token } })).body).toEqual({ released: true });
    const third = await acquire(alice, key);
    expect(third.status).toBe(200);
    const grant3 = third.body as { token: string; fencingToken: string };
    expect(BigInt(grant3.fencingToken)).toBeGreaterThan(BigInt(other.fencingToken));
    expect(BigInt(other.fencingToken)).toBeGreaterThan(BigInt(grant1.fencingToken));
    expect(grant3.token).not.toBe(grant1.token);

    const before = await kubectlJson(["get", "lease", "rerun", "-n", namespace, "-o", "json"]);
    const staleRenew = await call("POST", "/locks/rerun/renew", { jwt: alice, body: { token: grant1.token } });
    expect(staleRenew.status).toBe(409);
    expect(staleRenew.body.code).toBe("lock_lost");
    const staleRelease = await call("POST", "/locks/rerun/release", { jwt: alice, body: { token: grant1.token } });
    expect(staleRelease.status).toBe(409);
    expect(staleRelease.body.code).toBe("not_holder");
    const after = await kubectlJson(["get", "lease", "rerun", "-n", namespace, "-o", "json"]);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect((await call("GET", "/locks/rerun", { jwt: alice })).body).toMatchObject({ status: "held", fencingToken: grant3.fencingToken });

    // Within one grant, the key still replays the very same grant.
    const replay = await acquire(alice, key);
    expect(replay.body).toMatchObject({ token: grant3.token, fencingToken: grant3.fencingToken });
    expect((await call("POST", "/locks/rerun/renew", { jwt: alice, body: { token: grant3.token } })).body.fencingToken).toBe(grant3.fencingToken);
  });

  it("lets another caller take over only after expiry, and the old holder then gets lock_lost", async () => {
    const first = await call("POST", "/locks/expiry/acquire", { jwt: alice, body: { ttlSeconds: 1 } });
    expect(first.status).toBe(200);
    const held = await call("POST", "/locks/expiry/acquire", { jwt: bob });
    expect(held.status).toBe(409);
    expect(held.body).toMatchObject({ code: "lock_held", subject: "svc-alice" });
    expect(Number(held.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 1300));
    const second = await call("POST", "/locks/expiry/acquire", { jwt: bob });
    expect(second.status).toBe(200);
    expect(second.body.transitions).toBe(1);
    expect(BigInt(second.body.fencingToken as string)).toBeGreaterThan(BigInt(first.body.fencingToken as string));
    const lost = await call("POST", "/locks/expiry/renew", { jwt: alice, body: { token: first.body.token } });
    expect(lost.status).toBe(409);
    expect(lost.body).toMatchObject({ code: "lock_lost", subject: "svc-bob" });
  });

  it("issues strictly increasing fencing tokens over 100 grants", async () => {
    let previous = 0n;
    for (let i = 0; i < 100; i++) {
      const who = i % 2 ? alice : bob;
      const grant = await call("POST", "/locks/fencing/acquire", { jwt: who });
      expect(grant.status).toBe(200);
      const token = BigInt(grant.body.fencingToken as string);
      expect(token).toBeGreaterThan(previous);
      previous = token;
      expect((await call("POST", "/locks/fencing/release", { jwt: who, body: { token: grant.body.token } })).body.released).toBe(true);
    }
  });

  it("grants exactly one of 50 concurrent acquirers", async () => {
    const callers = await Promise.all(Array.from({ length: 50 }, (_, i) => issuer.mint({ sub: `svc-c${i}` })));
    const results = await Promise.all(callers.map((jwt) => call("POST", "/locks/contended/acquire", { jwt, body: { ttlSeconds: 60 } })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 409)).toBe(true);
    const winner = results.find((r) => r.status === 200)!;
    const lease = await kubectlJson(["get", "lease", "contended", "-n", namespace, "-o", "json"]);
    expect(lease.metadata.annotations["leasegate.io/subject"]).toBe(winner.body.subject);
  });

  it("returns the same grant to a retried acquire with the same Idempotency-Key", async () => {
    const headers = { "idempotency-key": `retry-${runtime}` };
    const a = await call("POST", "/locks/idem/acquire", { jwt: alice, headers });
    const b = await call("POST", "/locks/idem/acquire", { jwt: alice, headers });
    expect(b.status).toBe(200);
    expect([b.body.token, b.body.fencingToken]).toEqual([a.body.token, a.body.fencingToken]);
    expect((await call("POST", "/locks/idem/acquire", { jwt: bob, headers })).status).toBe(409);
  });

  it("force-releases for admins only, recording the actor on the Lease", async () => {
    const grant = await call("POST", "/locks/forced/acquire", { jwt: alice });
    expect((await call("DELETE", "/locks/forced", { jwt: alice })).status).toBe(403);
    const ops = await issuer.mint({ sub: "ops" });
    expect((await call("DELETE", "/locks/forced", { jwt: ops })).body).toEqual({ released: true });
    const lease = await kubectlJson(["get", "lease", "forced", "-n", namespace, "-o", "json"]);
    expect(lease.metadata.annotations["leasegate.io/forced-release-by"]).toBe("ops");
    expect((await call("POST", "/locks/forced/renew", { jwt: alice, body: { token: grant.body.token } })).body.code).toBe("lock_lost");
  });

  it("refuses bad tokens, denied actions and malformed input, writing nothing", async () => {
    const before = await kubectlJson(["get", "leases", "-n", namespace, "-o", "json"]);
    const expired = await issuer.mint({ sub: "svc-alice" }, { expiresIn: -300 });
    const stranger = await issuer.mint({ sub: "nobody" });
    const cases = [
      [await call("POST", "/locks/x/acquire"), 401],
      [await call("POST", "/locks/x/acquire", { jwt: expired }), 401],
      [await call("POST", "/locks/x/acquire", { jwt: stranger }), 403],
      [await call("POST", "/locks/Bad_Name/acquire", { jwt: alice }), 400],
      [await call("POST", "/locks/x/acquire", { jwt: alice, body: "{" }), 400],
      [await call("POST", "/locks/x/acquire", { jwt: alice, body: { ttlSeconds: "10" } }), 400],
      [await call("POST", "/locks/x/acquire", { jwt: alice, body: { metadata: { k: "v".repeat(5000) } } }), 400],
      [await call("POST", "/locks/x/renew", { jwt: alice, body: { token: `lg2.1.${"A".repeat(43)}.AAAA.${"A".repeat(43)}` } }), 409],
    ] as const;
    for (const [res, status] of cases) {
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    const after = await kubectlJson(["get", "leases", "-n", namespace, "-o", "json"]);
    expect(after.items.map((l: { metadata: { resourceVersion: string } }) => l.metadata.resourceVersion)).toEqual(
      before.items.map((l: { metadata: { resourceVersion: string } }) => l.metadata.resourceVersion),
    );
  });

  it("never touches a Lease it does not manage", async () => {
    await kubectlJson(["create", "-n", namespace, "-o", "json", "-f", "-"], {
      stdin: JSON.stringify({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "foreign" }, spec: { holderIdentity: "kube-controller" } }),
    });
    const res = await call("POST", "/locks/foreign/acquire", { jwt: alice });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("lease_not_managed");
    const lease = await kubectlJson(["get", "lease", "foreign", "-n", namespace, "-o", "json"]);
    expect(lease.spec.holderIdentity).toBe("kube-controller");
  });

  it("reports readiness with the gateway's own credentials", async () => {
    expect((await call("GET", "/readyz")).status).toBe(200);
  });

  it("never logs lock tokens or JWTs", async () => {
    const grant = await call("POST", "/locks/logged/acquire", { jwt: alice });
    await call("POST", "/locks/logged/release", { jwt: alice, body: { token: grant.body.token } });
    await new Promise((r) => setTimeout(r, 100));
    const logs = gw.logs();
    expect(logs).toContain("/locks/logged/acquire");
    expect(logs).not.toContain((grant.body.token as string).split(".")[2]);
    expect(logs).not.toContain(alice.split(".")[2]);
  });
});
