import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.ts";
import { createGateway } from "../../src/gateway.ts";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import { type AnalyticsEngineDataPoint, AnalyticsEngineMetrics } from "../../src/metrics/analytics-engine-metrics.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

let issuer: OidcIssuer;
beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: "leasegate" });
});
afterAll(() => issuer.close());

describe("metrics as Analytics Engine data points (Workers)", () => {
  it("writes one point per request and per lock event, with no lock name, subject or issuer in it", async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const metrics = new AnalyticsEngineMetrics({ writeDataPoint: (point) => void points.push(point) });
    const config = configSchema.parse({
      issuers: [{ issuer: issuer.issuer, audiences: ["leasegate"], jwksUri: issuer.jwksUri }],
      policy: [{ match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
      kubernetes: {},
    });
    const app = await createGateway({ loaded: { config, tokenKeys: [new Uint8Array(32).fill(5)] }, store: new MemoryStore(), env: {}, metrics });
    const alice = await issuer.mint({ sub: "svc-alice" });
    const headers = { authorization: `Bearer ${alice}`, "content-type": "application/json" };
    const grant = (await (await app.request("/locks/deploy-prod/acquire", { method: "POST", headers, body: "{}" })).json()) as { token: string };
    await app.request("/locks/deploy-prod/release", { method: "POST", headers, body: JSON.stringify({ token: grant.token }) });
    await app.request("/locks/deploy-prod", { headers: { authorization: "Bearer nonsense" } });

    const requests = points.filter((point) => point.indexes[0] === "request");
    expect(requests.map((point) => point.blobs)).toEqual([
      ["request", "/locks/:name/acquire", "POST", "200", "acquire", "ok", ""],
      ["request", "/locks/:name/release", "POST", "200", "release", "ok", ""],
      ["request", "/locks/:name", "GET", "401", "state", "unauthenticated", "malformed"],
    ]);
    for (const point of requests) expect(point.doubles[0]).toBeGreaterThan(0);
    expect(requests.map((point) => point.doubles[1])).toEqual([200, 200, 401]);
    const events = points.filter((point) => point.indexes[0] === "lock_event");
    expect(events.map((point) => point.blobs)).toEqual([["lock_event", "acquired"], ["lock_event", "released"]]);
    expect(events[1]!.doubles[0]).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(points)).not.toMatch(/deploy-prod|svc-alice|127\.0\.0\.1/);
  });

  it("counts drops and keeps a binding's promise alive rather than failing the request", async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const metrics = new AnalyticsEngineMetrics({ writeDataPoint: async (point) => void points.push(point) });
    metrics.historyDrops.dropped("rate_limited");
    metrics.webhookDrops.dropped("queue_full", "audit");
    await expect(metrics.requestEnded("/healthz", "GET", 200, 0.001, undefined, "ok", undefined)).resolves.toBeUndefined();
    expect(points.map((point) => point.blobs)).toEqual([
      ["history_dropped", "rate_limited"],
      ["webhook_dropped", "queue_full", "audit"],
      ["request", "/healthz", "GET", "200", "", "ok", ""],
    ]);
    // A service binding's RPC answer is a thenable function, not a Promise: it is kept alive too.
    let settledRpc = false;
    const rpcAnswer = Object.assign(() => {}, { then: (resolve: (value: unknown) => void) => setTimeout(() => resolve((settledRpc = true)), 10) });
    const rpc = new AnalyticsEngineMetrics({ writeDataPoint: () => rpcAnswer });
    await rpc.historyDrops.dropped("forbidden");
    expect(settledRpc).toBe(true);
    const throwing = new AnalyticsEngineMetrics({
      writeDataPoint: () => {
        throw new Error("too many data points in this invocation");
      },
    });
    expect(() => throwing.requestEnded("/healthz", "GET", 200, 0.001, undefined, "ok", undefined)).not.toThrow();
  });
});
