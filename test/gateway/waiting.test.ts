import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTestNamespace } from "../support/cluster.ts";
import { type GatewayHandle, startNodeGateway, startWorkerGateway } from "../support/gateway.ts";
import { callGateway, kubeRequests } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * Waiting for a lock against the real apiserver: a request with `waitSeconds` is answered the
 * moment the holder releases, through a watch on the Lease, even when the release goes through
 * another gateway replica (there is no in-process shortcut to rely on).
 */
const AUDIENCE = "leasegate";
let issuer: OidcIssuer;

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
});
afterAll(() => issuer.close());

const config = () => ({
  issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
  policy: [{ match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
});

describe.each([
  ["node", startNodeGateway],
  ["workerd", startWorkerGateway],
] as const)("waiting on %s", (runtime, start) => {
  let waitingSide: GatewayHandle;
  let releasingSide: GatewayHandle;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    const namespace = await newTestNamespace(`wait-${runtime}`);
    // The waiter and the holder talk to different replicas (the releasing one always on Node).
    [waitingSide, releasingSide] = await Promise.all([start({ namespace, config: config() }), startNodeGateway({ namespace, config: config() })]);
    [alice, bob] = await Promise.all([issuer.mint({ sub: "svc-alice" }), issuer.mint({ sub: "svc-bob" })]);
  });
  afterAll(async () => {
    await Promise.all([waitingSide?.stop(), releasingSide?.stop()]);
  });

  it("answers a waiting acquire when the holder releases through another replica, long before the holder's ttl", async () => {
    const held = await callGateway(releasingSide.url, "POST", "/locks/handover/acquire", { jwt: alice, body: { ttlSeconds: 60 } });
    expect(held.status).toBe(200);
    const waiting = callGateway(waitingSide.url, "POST", "/locks/handover/acquire", { jwt: bob, body: { ttlSeconds: 30, waitSeconds: 40 } });
    // Long enough that reading again every second instead of watching would cost more requests than asserted below.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const releasedAt = Date.now();
    const released = await callGateway(releasingSide.url, "POST", "/locks/handover/release", { jwt: alice, body: { token: held.body.token } });
    expect(released.body).toEqual({ released: true });
    const granted = await waiting;
    const handOverMs = Date.now() - releasedAt;
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
    expect(granted.body.subject).toBe("svc-bob");
    expect(BigInt(granted.body.fencingToken as string)).toBeGreaterThan(BigInt(held.body.fencingToken as string));
    // Woken by the release, not by the holder's expiry 60 s later (the hand-over itself is measured by bench/).
    expect(handOverMs).toBeLessThan(20_000);
    // A constant number of apiserver requests, however long the wait: joining the line (read the
    // lock, list its line, create the ticket, mark the lock, watch) and one wake-up (read, list,
    // grant, delete the spent ticket).
    expect(kubeRequests(granted)).toBeLessThanOrEqual(9);
    console.info(`${runtime}: hand-over ${handOverMs} ms, ${kubeRequests(granted)} apiserver requests`);
  });

  it("answers 409 with Retry-After: 0 when the wait ends, and the holder keeps the lock", async () => {
    const held = await callGateway(releasingSide.url, "POST", "/locks/kept/acquire", { jwt: alice, body: { ttlSeconds: 60 } });
    expect(held.status).toBe(200);
    const refused = await callGateway(waitingSide.url, "POST", "/locks/kept/acquire", { jwt: bob, body: { waitSeconds: 2 } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: "lock_held", subject: "svc-alice" });
    expect(refused.headers.get("retry-after")).toBe("0");
    const state = await callGateway(waitingSide.url, "GET", "/locks/kept", { jwt: bob });
    expect(state.body).toMatchObject({ status: "held", subject: "svc-alice", fencingToken: held.body.fencingToken });
  });
});
