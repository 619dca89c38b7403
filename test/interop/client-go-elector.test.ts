import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ClientGoElector, buildElector, startClientGoElector } from "../support/client-go-elector.ts";
import { kubectlJson, newTestNamespace } from "../support/cluster.ts";
import { type GatewayHandle, startNodeGateway, startWorkerGateway } from "../support/gateway.ts";
import { type Call, callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * Mutual exclusion between leasegate and an unmodified client-go leader elector
 * (tools/leaderelection, resourcelock.LeaseLock) competing for the same Lease on a real
 * kube-apiserver: each respects the other's hold as the standard LeaseSpec states it, and
 * neither's bookkeeping lets it write over the other.
 */
const AUDIENCE = "leasegate";
/** Short client-go timings (its defaults are 15 s / 10 s / 2 s) to keep the file quick. */
const ELECTOR_TIMING = { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 };
/** client-go waits RetryPeriod × [1, 2.2) between attempts (JitterFactor 1.2); the rest is slack. */
const WITHIN_A_RETRY_MS = ELECTOR_TIMING.retryPeriodSeconds * 2200 + 2000;

let issuer: OidcIssuer;

beforeAll(async () => {
  [issuer] = await Promise.all([startOidcIssuer({ defaultAudience: AUDIENCE }), buildElector()]);
});
afterAll(() => issuer?.close());

const gatewayConfig = () => ({
  issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
  policy: [{ match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each([
  ["node", startNodeGateway],
  ["workerd", startWorkerGateway],
] as const)("leasegate on %s and a client-go leader elector on one Lease", (runtime, start) => {
  let gw: GatewayHandle;
  let namespace: string;
  let jwt: string;
  const electors: ClientGoElector[] = [];
  const call = (method: string, path: string, body?: unknown): Promise<Call> => callGateway(gw.url, method, path, { jwt, body });
  const lease = (name: string) => kubectlJson(["get", "lease", name, "-n", namespace, "-o", "json"]);
  const elector = async (name: string, identity: string) => {
    const started = await startClientGoElector({ namespace, lease: name, identity: `${identity}-${runtime}`, ...ELECTOR_TIMING });
    electors.push(started);
    return started;
  };

  beforeAll(async () => {
    namespace = await newTestNamespace(`interop-${runtime}`);
    [gw, jwt] = await Promise.all([start({ namespace, config: gatewayConfig() }), issuer.mint({ sub: "svc-interop" })]);
  });
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((candidate) => candidate.stop()));
  });
  afterAll(() => gw?.stop());

  it("keeps the elector out while a grant is live and renewed, and lets it lead soon after the release", async () => {
    const grant = await call("POST", "/locks/handover/acquire", { ttlSeconds: 3 });
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    const grantHolder = (await lease("handover")).spec.holderIdentity as string;
    const candidate = await elector("handover", "controller-a");

    // Longer than both the grant's TTL and the elector's lease duration, renewing every second.
    const renewUntil = Date.now() + 5000;
    while (Date.now() < renewUntil) {
      for (let sample = 0; sample < 4; sample++) {
        expect(candidate.isLeading()).toBe(false);
        await sleep(250);
      }
      const renewed = await call("POST", "/locks/handover/renew", { token: grant.body.token, ttlSeconds: 3 });
      expect(renewed.status, JSON.stringify(renewed.body)).toBe(200);
      expect(renewed.body.fencingToken).toBe(grant.body.fencingToken);
      expect((await lease("handover")).spec.holderIdentity).toBe(grantHolder);
    }
    expect(candidate.isLeading()).toBe(false);
    expect(candidate.events()).toContainEqual(expect.objectContaining({ event: "new_leader", identity: grantHolder }));

    const releaseSentAt = new Date();
    expect((await call("POST", "/locks/handover/release", { token: grant.body.token })).body).toEqual({ released: true });
    const leading = await candidate.waitForStartedLeading(WITHIN_A_RETRY_MS);
    expect(leading.at.getTime()).toBeGreaterThanOrEqual(releaseSentAt.getTime());
    expect((await lease("handover")).spec.holderIdentity).toBe(candidate.identity);
  });

  it("answers lock_held naming the elector while it leads, and grants a larger fencing token once it releases", async () => {
    // The gateway creates the Lease (it only takes over Leases it manages), then frees it.
    const earlier = await call("POST", "/locks/elected/acquire", { ttlSeconds: 5 });
    expect(earlier.status, JSON.stringify(earlier.body)).toBe(200);
    expect((await call("POST", "/locks/elected/release", { token: earlier.body.token })).body).toEqual({ released: true });
    const candidate = await elector("elected", "controller-b");
    await candidate.waitForStartedLeading(WITHIN_A_RETRY_MS);

    // Longer than the elector's lease duration: several of its renewals happen meanwhile.
    const tryUntil = Date.now() + 4500;
    let attempts = 0;
    while (Date.now() < tryUntil) {
      const refused = await call("POST", "/locks/elected/acquire", { ttlSeconds: 5 });
      attempts++;
      expect(refused.status, JSON.stringify(refused.body)).toBe(409);
      expect(refused.body).toMatchObject({ code: "lock_held", holderIdentity: candidate.identity });
      expect(typeof refused.body.expiresAt).toBe("string");
      await sleep(500);
    }
    expect(attempts).toBeGreaterThanOrEqual(5);
    expect(candidate.isLeading()).toBe(true);
    expect(candidate.events().filter((e) => e.event === "stopped_leading")).toEqual([]);
    expect((await lease("elected")).spec.holderIdentity).toBe(candidate.identity);

    expect(await candidate.stop()).toBe(0);
    // client-go releases by writing an empty holderIdentity rather than removing it.
    expect((await lease("elected")).spec.holderIdentity || undefined).toBeUndefined();
    const next = await call("POST", "/locks/elected/acquire", { ttlSeconds: 5 });
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(BigInt(next.body.fencingToken as string)).toBeGreaterThan(BigInt(earlier.body.fencingToken as string));
  });

  it("lets the elector take over an expired grant that was never released, which then can neither renew nor release", async () => {
    const abandoned = await call("POST", "/locks/abandoned/acquire", { ttlSeconds: 1 });
    expect(abandoned.status, JSON.stringify(abandoned.body)).toBe(200);
    await sleep(1200);
    const candidate = await elector("abandoned", "controller-c");
    // client-go waits the record's leaseDurationSeconds (1) of its own observation before taking over.
    await candidate.waitForStartedLeading(1000 + WITHIN_A_RETRY_MS);
    const taken = await lease("abandoned");
    expect(taken.spec.holderIdentity).toBe(candidate.identity);
    // The grant's annotations, verifier included, are still there: only holderIdentity says who holds it.
    expect(taken.metadata.annotations).toHaveProperty(["leasegate.io/token-verifier"]);

    const renewed = await call("POST", "/locks/abandoned/renew", { token: abandoned.body.token });
    expect(renewed.status, JSON.stringify(renewed.body)).toBe(409);
    expect(renewed.body.code).toBe("lock_lost");
    const released = await call("POST", "/locks/abandoned/release", { token: abandoned.body.token });
    if (released.status === 200) {
      expect(released.body).toEqual({ released: false });
    } else {
      expect(released.status, JSON.stringify(released.body)).toBe(409);
      expect(released.body.code).toBe("not_holder");
    }

    expect((await lease("abandoned")).spec.holderIdentity).toBe(candidate.identity);
    expect(candidate.isLeading()).toBe(true);
    expect(candidate.events().filter((e) => e.event === "stopped_leading")).toEqual([]);
    const state = await call("GET", "/locks/abandoned");
    expect(state.status, JSON.stringify(state.body)).toBe(200);
    expect(state.body).toMatchObject({ status: "held", holderIdentity: candidate.identity });
  });

  it("answers lock_lost, writing nothing, when someone else cleared holderIdentity", async () => {
    const grant = await call("POST", "/locks/cleared/acquire", { ttlSeconds: 30 });
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    const cleared = await kubectlJson(["patch", "lease", "cleared", "-n", namespace, "--type", "merge", "-p", '{"spec":{"holderIdentity":null}}', "-o", "json"]);
    expect(cleared.spec.holderIdentity).toBeUndefined();

    const renewed = await call("POST", "/locks/cleared/renew", { token: grant.body.token });
    expect(renewed.status, JSON.stringify(renewed.body)).toBe(409);
    expect(renewed.body.code).toBe("lock_lost");
    const after = await lease("cleared");
    expect(after.metadata.resourceVersion).toBe(cleared.metadata.resourceVersion);
    expect(after.spec.holderIdentity).toBeUndefined();
  });
});
