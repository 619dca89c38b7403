import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { clusterInfo, kubectlJson, newTestNamespace } from "../support/cluster.ts";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy.ts";
import { type GatewayHandle, startNodeGateway, startWorkerGateway } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * What callers see when Kubernetes misbehaves: 503 with Retry-After and never a false success
 * when it is unreachable or failing, and a 502 that names the missing permission when it
 * refuses the gateway's own identity.
 */
const AUDIENCE = "leasegate";
let issuer: OidcIssuer;
let proxy: FaultProxy;

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  const cluster = clusterInfo();
  proxy = await startFaultProxy(cluster.server, cluster.caFile);
});
afterAll(async () => {
  await proxy.close();
  await issuer.close();
});

const config = () => ({
  issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
  policy: [{ match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
  skewAllowanceSeconds: 0,
});

describe.each([
  ["node", startNodeGateway],
  ["workerd", startWorkerGateway],
] as const)("on %s, when the Kubernetes API fails", (runtime, start) => {
  let gw: GatewayHandle;
  let namespace: string;
  let alice: string;
  const call = (method: string, path: string, options: Parameters<typeof callGateway>[3] = {}) => callGateway(gw.url, method, path, options);
  const leaseNames = async () =>
    ((await kubectlJson(["get", "leases", "-n", namespace, "-o", "json"])).items as Array<{ metadata: { name: string } }>).map((l) => l.metadata.name);

  beforeAll(async () => {
    namespace = await newTestNamespace(`fail-${runtime}`);
    gw = await start({ namespace, config: config(), server: proxy.url, kubernetes: { requestTimeoutMs: 1500 } });
    alice = await issuer.mint({ sub: "svc-alice" });
  });
  afterAll(async () => {
    proxy.setRule(() => ({ kind: "pass" }));
    await gw?.stop();
  });

  it.each([500, 503, 504, 429])("answers 503 with Retry-After when it answers %i, and grants nothing", async (status) => {
    proxy.setRule(() => ({ kind: "status", status }));
    const res = await call("POST", `/locks/down-${status}/acquire`, { jwt: alice });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe("backend_unavailable");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    proxy.setRule(() => ({ kind: "pass" }));
    expect(await leaseNames()).not.toContain(`down-${status}`);
  });

  it("answers 503 when connections are cut before anything is forwarded", async () => {
    proxy.setRule(() => ({ kind: "drop" }));
    const res = await call("POST", "/locks/cut/acquire", { jwt: alice });
    expect(res.status).toBe(503);
    proxy.setRule(() => ({ kind: "pass" }));
    expect(await leaseNames()).not.toContain("cut");
    expect((await call("GET", "/readyz")).status).toBe(200);
  });

  it("answers 'acquired' when the create landed but its answer was lost", async () => {
    proxy.setRule((method) => (method === "POST" ? { kind: "drop-after-forward" } : { kind: "pass" }));
    const res = await call("POST", "/locks/landed/acquire", { jwt: alice });
    proxy.setRule(() => ({ kind: "pass" }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const lease = await kubectlJson(["get", "lease", "landed", "-n", namespace, "-o", "json"]);
    expect(lease.metadata.annotations["leasegate.io/subject"]).toBe("svc-alice");
    expect((await call("POST", "/locks/landed/release", { jwt: alice, body: { token: res.body.token } })).body.released).toBe(true);
  });

  it("leaves no ticket in line when a waiter whose mark failed is granted on its next request, so the next waiter gets the lock at once", async () => {
    const tickets = async () => (await leaseNames()).filter((name) => name.startsWith("leasegate-ticket-"));
    const holder = await issuer.mint({ sub: "svc-holder" });
    const next = await issuer.mint({ sub: "svc-next" });
    const held = await call("POST", "/locks/handover/acquire", { jwt: holder, body: { ttlSeconds: 30 } });
    expect(held.status).toBe(200);
    // The waiter's ticket is made, but every mark on the lock (a PATCH of the lock Lease) fails.
    proxy.setRule((method, path) => (method === "PATCH" && path.split("?")[0]!.endsWith("/leases/handover") ? { kind: "status", status: 503 } : { kind: "pass" }));
    const waiting = { jwt: alice, body: { ttlSeconds: 30, waitSeconds: 20 }, headers: { "idempotency-key": "deploy-7" } };
    const refused = await call("POST", "/locks/handover/acquire", waiting);
    proxy.setRule(() => ({ kind: "pass" }));
    // Refused for now, with a time to come back (the mark never landed: 409 lock_contended).
    expect([409, 503], JSON.stringify(refused.body)).toContain(refused.status);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await tickets()).toHaveLength(1);
    await call("POST", "/locks/handover/release", { jwt: holder, body: { token: held.body.token } });

    // Called again, the waiter finds the lock free and unmarked and is granted at once; its ticket goes with it.
    const granted = await call("POST", "/locks/handover/acquire", waiting);
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
    expect(await tickets()).toEqual([]);
    const behind = call("POST", "/locks/handover/acquire", { jwt: next, body: { ttlSeconds: 30, waitSeconds: 10 } });
    await vi.waitFor(async () => expect(await tickets()).toHaveLength(1), { timeout: 5000 });
    await call("POST", "/locks/handover/release", { jwt: alice, body: { token: granted.body.token } });
    expect((await behind).status).toBe(200);
  });

  it("times out a stalled apiserver and answers 503 rather than hanging", async () => {
    proxy.setRule(() => ({ kind: "delay", ms: 4000 }));
    const res = await call("GET", "/locks/stalled", { jwt: alice });
    proxy.setRule(() => ({ kind: "pass" }));
    expect(res.status).toBe(503);
  });

  it("answers 503 with Retry-After on readyz once the apiserver is down (an answer is reused for about a second)", async () => {
    proxy.setRule(() => ({ kind: "status", status: 503 }));
    let res = await call("GET", "/readyz");
    for (const deadline = Date.now() + 5_000; res.status === 200 && Date.now() < deadline; res = await call("GET", "/readyz")) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    proxy.setRule(() => ({ kind: "pass" }));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe("backend_unavailable");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe.each([
  ["node", startNodeGateway],
  ["workerd", startWorkerGateway],
] as const)("on %s, when the gateway's identity lacks rights", (runtime, start) => {
  it("answers 502 backend_forbidden naming the permission, and readyz fails", async () => {
    // A namespace the gateway's ServiceAccount has no Role in.
    const namespace = `norbac-${runtime}-${Date.now().toString(36)}`;
    await kubectlJson(["create", "namespace", namespace, "-o", "json"]);
    const gw = await start({ namespace, config: config() });
    try {
      const alice = await issuer.mint({ sub: "svc-alice" });
      const res = await callGateway(gw.url, "POST", "/locks/x/acquire", { jwt: alice });
      expect(res.status).toBe(502);
      expect(res.body.code).toBe("backend_forbidden");
      expect(res.body.detail).toContain(`may not get coordination.k8s.io/leases in namespace "${namespace}"`);
      const ready = await callGateway(gw.url, "GET", "/readyz");
      expect(ready.status).toBe(502);
      expect(ready.body.code).toBe("backend_forbidden");
      // /readyz is unauthenticated: it says what is wrong, not where.
      expect(JSON.stringify(ready.body)).not.toContain(namespace);
    } finally {
      await gw.stop();
    }
  });

  it("asks the apiserver's /readyz and retries once before calling a 403 a missing permission", async () => {
    const namespace = `norbac-triage-${runtime}-${Date.now().toString(36)}`;
    await kubectlJson(["create", "namespace", namespace, "-o", "json"]);
    const gw = await start({ namespace, config: config(), server: proxy.url });
    try {
      proxy.setRule(() => ({ kind: "pass" }));
      proxy.resetCounts();
      const alice = await issuer.mint({ sub: "svc-alice" });
      const res = await callGateway(gw.url, "POST", "/locks/x/acquire", { jwt: alice });
      expect(res.status).toBe(502);
      expect(res.body.code).toBe("backend_forbidden");
      expect(res.body.detail).toContain(`may not get coordination.k8s.io/leases in namespace "${namespace}"`);
      // The read, refused; /readyz, ready; the read again, refused again: a real missing permission.
      expect(proxy.answers()).toEqual({ api: { 403: 2 }, readyz: { 200: 1 } });
    } finally {
      await gw.stop();
    }
  });
});
