import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.ts";
import { createGateway } from "../../src/gateway.ts";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import { PrometheusMetrics } from "../../src/metrics/prometheus-metrics.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { sampleValues } from "./sample-values.ts";

let issuer: OidcIssuer;
let metrics: PrometheusMetrics;
let app: Awaited<ReturnType<typeof createGateway>>;
const jwt: Record<string, string> = {};

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: "leasegate" });
  const config = configSchema.parse({
    namespace: "test",
    issuers: [{ issuer: issuer.issuer, audiences: ["leasegate"], jwksUri: issuer.jwksUri }],
    policy: [
      { match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] },
      { match: { sub: "reader" }, actions: ["read"], locks: ["*"] },
      { match: { sub: "ops" }, actions: ["admin", "read"], locks: ["*"] },
    ],
    kubernetes: {},
    skewAllowanceSeconds: 0,
  });
  metrics = new PrometheusMetrics({ lockStateMaxAgeMs: 0 });
  app = await createGateway({ loaded: { config, tokenKeys: [new Uint8Array(32).fill(5)] }, store: new MemoryStore(), env: {}, metrics });
  for (const sub of ["svc-alice", "svc-bob", "reader", "ops"]) jwt[sub] = await issuer.mint({ sub });
});
afterAll(() => issuer.close());

const call = async (method: string, path: string, who?: string, body?: unknown) => {
  const res = await app.request(path, {
    method,
    headers: { ...(who && { authorization: `Bearer ${jwt[who]}` }), ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, string> };
};

describe("request metrics on the lock API", () => {
  it("count requests by route and status, operations by outcome, refused tokens by reason, and lock events", async () => {
    const grant = await call("POST", "/locks/deploy-prod/acquire", "svc-alice", { holder: "ci-1" });
    expect(grant.status).toBe(200);
    expect((await call("POST", "/locks/deploy-prod/acquire", "svc-bob")).status).toBe(409);
    expect((await call("POST", "/locks/deploy-prod/renew", "svc-alice", { token: grant.body.token })).status).toBe(200);
    expect((await call("POST", "/locks/deploy-prod/release", "svc-alice", { token: grant.body.token })).status).toBe(200);
    expect((await call("POST", "/locks/deploy-prod/renew", "svc-alice", { token: grant.body.token })).status).toBe(409);
    const second = await call("POST", "/locks/other-lock/acquire", "svc-bob", {});
    expect((await call("DELETE", "/locks/other-lock", "ops")).status).toBe(200);
    expect(second.status).toBe(200);
    expect((await call("POST", "/locks/deploy-prod/acquire", "reader")).status).toBe(403);
    expect((await call("GET", "/locks/deploy-prod")).status).toBe(401);
    expect((await call("GET", "/locks/BAD_NAME", "reader")).status).toBe(400);
    expect((await call("GET", "/nothing-here")).status).toBe(404);

    const values = sampleValues(await metrics.expose());
    const value = (sample: string) => values.get(sample) ?? 0;
    expect(value('leasegate_http_requests_total{route="/locks/:name/acquire",method="POST",status="200"}')).toBe(2);
    expect(value('leasegate_http_requests_total{route="/locks/:name/acquire",method="POST",status="409"}')).toBe(1);
    expect(value('leasegate_http_requests_total{route="/locks/:name",method="GET",status="401"}')).toBe(1);
    expect(value('leasegate_http_requests_total{route="unmatched",method="GET",status="404"}')).toBe(1);
    expect(value('leasegate_http_request_duration_seconds_count{route="/locks/:name/acquire"}')).toBe(4);
    expect(value("leasegate_http_requests_in_flight")).toBe(0);

    expect(value('leasegate_lock_operations_total{operation="acquire",outcome="ok"}')).toBe(2);
    expect(value('leasegate_lock_operations_total{operation="acquire",outcome="held"}')).toBe(1);
    expect(value('leasegate_lock_operations_total{operation="acquire",outcome="forbidden"}')).toBe(1);
    expect(value('leasegate_lock_operations_total{operation="renew",outcome="ok"}')).toBe(1);
    expect(value('leasegate_lock_operations_total{operation="renew",outcome="lost"}')).toBe(1);
    expect(value('leasegate_lock_operations_total{operation="release",outcome="ok"}')).toBe(1);
    expect(value('leasegate_lock_operations_total{operation="force_release",outcome="ok"}')).toBe(1);
    expect(value('leasegate_lock_operations_total{operation="state",outcome="unauthenticated"}')).toBe(1);
    expect(value('leasegate_lock_operations_total{operation="state",outcome="invalid"}')).toBe(1);
    expect(value('leasegate_jwt_rejections_total{reason="missing"}')).toBe(1);

    expect(value('leasegate_lock_events_total{kind="acquired"}')).toBe(2);
    expect(value('leasegate_lock_events_total{kind="released"}')).toBe(1);
    expect(value('leasegate_lock_events_total{kind="lost"}')).toBe(1);
    expect(value('leasegate_lock_events_total{kind="force_released"}')).toBe(1);
    expect(value('leasegate_lock_hold_seconds_count{ended_by="released"}')).toBe(1);
    expect(value('leasegate_lock_hold_seconds_count{ended_by="force_released"}')).toBe(1);

    // The locks as the store has them, read at scrape time: both free now.
    expect(value('leasegate_locks{status="free"}')).toBe(2);
    expect(value('leasegate_locks{status="held"}')).toBe(0);
    expect(value("leasegate_lock_state_up")).toBe(1);
  });

  it("never names a lock, a subject or an issuer in a label", async () => {
    const text = await metrics.expose();
    for (const secretish of ["deploy-prod", "other-lock", "svc-alice", "svc-bob", issuer.issuer]) expect(text).not.toContain(secretish);
  });

  it("is not served on the API listener unless a bearer secret is configured", async () => {
    expect((await call("GET", "/metrics")).status).toBe(404);
  });
});

describe("GET /metrics on the API listener, with a bearer secret", () => {
  it("answers the exposition only to a scraper that shows the secret", async () => {
    const config = configSchema.parse({ issuers: [{ issuer: issuer.issuer, audiences: ["leasegate"], jwksUri: issuer.jwksUri }], kubernetes: {} });
    const scraped = new PrometheusMetrics({ lockStateMaxAgeMs: 0 });
    const guarded = await createGateway({
      loaded: { config, tokenKeys: [new Uint8Array(32).fill(5)] },
      store: new MemoryStore(),
      env: {},
      metrics: scraped,
      metricsEndpoint: { expose: () => scraped.expose(), bearerToken: "scrape-secret-0123456789" },
    });
    for (const authorization of [undefined, "Bearer scrape-secret-012345678", "Bearer scrape-secret-0123456789x", `Bearer ${jwt["ops"]}`]) {
      const refused = await guarded.request("/metrics", { headers: authorization ? { authorization } : {} });
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ code: "unauthenticated" });
    }
    const res = await guarded.request("/metrics", { headers: { authorization: "Bearer scrape-secret-0123456789" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(sampleValues(await res.text()).get('leasegate_http_requests_total{route="/metrics",method="GET",status="401"}')).toBe(4);
  });
});
