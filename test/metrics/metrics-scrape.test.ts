import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultProxy } from "../support/fault-proxy.ts";
import { type GatewayHandle, startProxiedGateway } from "../support/gateway.ts";
import { type Call, callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { closedPort } from "../support/ports.ts";
import { type ParsedSample, parseWithPrometheusClient, promtoolCheck, valueOf } from "./exposition-parsers.ts";

/**
 * `/metrics` of the real Node gateway against the real apiserver, after a workload whose every
 * number is known, read by parsers that share no code with the gateway: promtool (Prometheus'
 * own) checks it, prometheus_client (the official Python client) parses it.
 */
const AUDIENCE = "leasegate";
const METRICS_TOKEN = "scrape-secret-0123456789abcdef";
let issuer: OidcIssuer;
let gw: GatewayHandle;
let proxy: FaultProxy;
let metricsUrl: string;
const jwt: Record<string, string> = {};
const call = (method: string, path: string, who: string | undefined, body?: unknown): Promise<Call> => callGateway(gw.url, method, path, { jwt: who && jwt[who], body });

async function scrape(): Promise<{ text: string; samples: ParsedSample[] }> {
  const res = await fetch(`${metricsUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  return { text, samples: await parseWithPrometheusClient(text) };
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  const port = await closedPort();
  // Its apiserver traffic passes a proxy that counts every request: the independent tally of what the gateway says it sent.
  ({ gw, proxy } = await startProxiedGateway("metrics", {
    config: {
      issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
      policy: [
        { match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] },
        { match: { sub: "reader" }, actions: ["read"], locks: ["*"] },
        { match: { sub: "ops" }, actions: ["admin", "read"], locks: ["*"] },
      ],
      skewAllowanceSeconds: 0,
      // Every scrape reads the locks afresh, so the gauges show the moment of the scrape.
      metrics: { lockStateMaxAgeSeconds: 0 },
    },
    env: { METRICS_PORT: String(port), LEASEGATE_METRICS_TOKEN: METRICS_TOKEN },
  }));
  metricsUrl = `http://127.0.0.1:${port}`;
  for (const sub of ["svc-alice", "svc-bob", "reader", "ops"]) jwt[sub] = await issuer.mint({ sub });
  jwt.expired = await issuer.mint({ sub: "svc-alice" }, { expiresIn: -3600 });
  jwt.malformed = "not-a-jwt";
}, 120_000);
afterAll(async () => {
  await gw?.stop();
  await proxy?.close();
  await issuer?.close();
});

describe("/metrics on Node under a real workload", () => {
  it("counts exactly what the workload did, in an exposition promtool accepts and prometheus_client parses", async () => {
    const before = await scrape();

    // Five grants and releases of one lock by one holder.
    for (let i = 0; i < 5; i++) {
      const grant = await call("POST", "/locks/job/acquire", "svc-alice", { holder: "ci" });
      expect(grant.status).toBe(200);
      expect((await call("POST", "/locks/job/release", "svc-alice", { token: grant.body.token })).status).toBe(200);
    }

    // A lock held, refused to another, who then waits in line and is granted on release.
    const held = await call("POST", "/locks/contended/acquire", "svc-alice", { holder: "a", ttlSeconds: 60 });
    expect((await call("POST", "/locks/contended/acquire", "svc-bob")).status).toBe(409);
    const waiting = call("POST", "/locks/contended/acquire", "svc-bob", { holder: "b", waitSeconds: 30 });
    await eventually(() => call("GET", "/locks/contended", "reader"), (state) => (state.body.waiters as number) === 1, "bob in line");
    const during = await scrape();
    expect((await call("POST", "/locks/contended/release", "svc-alice", { token: held.body.token })).status).toBe(200);
    const granted = await waiting;
    expect(granted.status).toBe(200);
    expect((await call("POST", "/locks/contended/release", "svc-bob", { token: granted.body.token })).status).toBe(200);

    // A force release, and the holder finding out on its next renewal.
    const forced = await call("POST", "/locks/forced/acquire", "svc-alice", { holder: "f" });
    expect((await call("DELETE", "/locks/forced", "ops")).status).toBe(200);
    expect((await call("POST", "/locks/forced/renew", "svc-alice", { token: forced.body.token })).status).toBe(409);

    // Refusals: no token, an expired one, a malformed one, and a policy that says no.
    expect((await call("GET", "/locks/job", undefined)).status).toBe(401);
    expect((await call("GET", "/locks/job", "expired")).status).toBe(401);
    expect((await call("GET", "/locks/job", "malformed")).status).toBe(401);
    expect((await call("POST", "/locks/job/acquire", "reader")).status).toBe(403);

    // Ten histories: job (acquired, released), contended (a acquired and released, bob joined, acquired, released), forced (acquired, force-released, lost).
    await eventually(scrape, ({ samples }) => valueOf(samples, "leasegate_history_events_written_total", { write: "created" }) === 10, "history Events written");
    await eventually(scrape, ({ samples }) => valueOf(samples, "leasegate_history_events_written_total", { write: "series" }) >= 2, "the series of job's events");
    // A series update may follow a second later with the last repeats; then everything has settled.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const after = await scrape();
    const proxyCountsAfter = proxy.counts();
    const { text, samples } = after;

    const check = await promtoolCheck(text);
    expect(check, check.output).toEqual({ code: 0, output: "" });

    const v = (name: string, labels: Record<string, string> = {}) => valueOf(samples, name, labels);
    const delta = (name: string, labels: Record<string, string> = {}) => v(name, labels) - valueOf(before.samples, name, labels);
    expect(delta("leasegate_http_requests_total", { route: "/locks/:name/acquire", method: "POST", status: "200" })).toBe(8);
    expect(delta("leasegate_http_requests_total", { route: "/locks/:name/acquire", method: "POST", status: "409" })).toBe(1);
    expect(delta("leasegate_http_requests_total", { route: "/locks/:name/release", method: "POST", status: "200" })).toBe(7);
    expect(delta("leasegate_http_requests_total", { route: "/locks/:name", method: "GET", status: "401" })).toBe(3);
    expect(delta("leasegate_http_request_duration_seconds_count", { route: "/locks/:name/acquire" })).toBe(10);
    expect(v("leasegate_http_requests_in_flight")).toBe(0);

    expect(delta("leasegate_lock_operations_total", { operation: "acquire", outcome: "ok" })).toBe(8);
    expect(delta("leasegate_lock_operations_total", { operation: "acquire", outcome: "held" })).toBe(1);
    expect(delta("leasegate_lock_operations_total", { operation: "acquire", outcome: "forbidden" })).toBe(1);
    expect(delta("leasegate_lock_operations_total", { operation: "release", outcome: "ok" })).toBe(7);
    expect(delta("leasegate_lock_operations_total", { operation: "renew", outcome: "lost" })).toBe(1);
    expect(delta("leasegate_lock_operations_total", { operation: "force_release", outcome: "ok" })).toBe(1);
    expect(delta("leasegate_lock_operations_total", { operation: "state", outcome: "unauthenticated" })).toBe(3);

    expect(delta("leasegate_jwt_rejections_total", { reason: "missing" })).toBe(1);
    expect(delta("leasegate_jwt_rejections_total", { reason: "expired" })).toBe(1);
    expect(delta("leasegate_jwt_rejections_total", { reason: "malformed" })).toBe(1);

    expect(delta("leasegate_lock_events_total", { kind: "acquired" })).toBe(8);
    expect(delta("leasegate_lock_events_total", { kind: "released" })).toBe(7);
    expect(delta("leasegate_lock_events_total", { kind: "force_released" })).toBe(1);
    expect(delta("leasegate_lock_events_total", { kind: "lost" })).toBe(1);
    expect(delta("leasegate_lock_events_total", { kind: "queue_joined" })).toBe(1);
    expect(delta("leasegate_lock_events_total", { kind: "taken_over" })).toBe(0);
    expect(delta("leasegate_lock_hold_seconds_count", { ended_by: "released" })).toBe(7);
    expect(delta("leasegate_lock_hold_seconds_count", { ended_by: "force_released" })).toBe(1);
    expect(delta("leasegate_lock_wait_seconds_count")).toBe(1);
    expect(delta("leasegate_lock_wait_seconds_sum")).toBeGreaterThan(0);

    // The cluster's locks at each scrape: one held with one waiter mid-way, none held at the end.
    expect(valueOf(during.samples, "leasegate_locks", { status: "held" })).toBe(1);
    expect(valueOf(during.samples, "leasegate_queue_waiters")).toBe(1);
    expect(valueOf(during.samples, "leasegate_queue_longest")).toBe(1);
    expect(v("leasegate_locks", { status: "held" })).toBe(0);
    expect(v("leasegate_lock_holders")).toBe(0);
    expect(v("leasegate_lock_state_up")).toBe(1);

    // History: ten Events, job's repeats as series, nothing dropped; the apiserver saw exactly those writes.
    expect(v("leasegate_history_events_written_total", { write: "created" })).toBe(10);
    expect(samples.filter((s) => s.name === "leasegate_history_events_dropped_total").reduce((sum, s) => sum + s.value, 0)).toBe(0);
    expect(v("leasegate_apiserver_requests_total", { resource: "events", verb: "create", code: "201" })).toBe(10);
    expect(v("leasegate_apiserver_requests_total", { resource: "events", verb: "patch", code: "200" })).toBe(v("leasegate_history_events_written_total", { write: "series" }));

    // Every request the apiserver got, as the proxy in front of it counted them by method.
    const byMethod: Record<string, number> = {};
    const METHOD: Record<string, string> = { get: "GET", list: "GET", watch: "GET", create: "POST", update: "PUT", patch: "PATCH", delete: "DELETE" };
    for (const sample of samples.filter((s) => s.name === "leasegate_apiserver_requests_total" && s.value > 0)) {
      const method = METHOD[sample.labels.verb!]!;
      byMethod[method] = (byMethod[method] ?? 0) + sample.value;
    }
    const { notReady: _notReady, ...proxied } = proxyCountsAfter;
    expect(byMethod).toEqual(proxied);
    expect(v("leasegate_apiserver_request_duration_seconds_count", { resource: "events", verb: "create" })).toBe(10);

    // No label names a lock, a subject or an issuer.
    for (const word of ["job", "contended", "forced", "svc-alice", "svc-bob", issuer.issuer]) expect(text).not.toContain(`"${word}"`);
  });

  it("answers only a scraper with the bearer secret, on its own listener and on the API's, and nothing else there", async () => {
    expect((await fetch(`${metricsUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${metricsUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } })).status).toBe(401);
    expect((await fetch(`${metricsUrl}/locks`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(404);
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    const onApi = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(onApi.status).toBe(200);
    expect(await promtoolCheck(await onApi.text())).toEqual({ code: 0, output: "" });
  });
});
