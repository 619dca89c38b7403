import { dirname } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnalyticsEngineDataPoint } from "../../src/metrics/analytics-engine-metrics.ts";
import { clusterInfo, newTestNamespace } from "../support/cluster.ts";
import { gatewayBearerToken, TEST_TOKEN_KEY, workerBundle } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * Metrics on Workers: the bundle `wrangler deploy` would upload, in workerd, writing to a dataset
 * binding. Miniflare's own Analytics Engine dataset keeps nothing locally, so a second Worker
 * stands in for it: an RPC entrypoint with Analytics Engine's `writeDataPoint`, which keeps the
 * points it was given for the test to read.
 */
const DATASET = `
import { WorkerEntrypoint } from "cloudflare:workers";
const points = [];
export class Dataset extends WorkerEntrypoint {
  writeDataPoint(point) { points.push(point); }
}
export default { fetch: () => Response.json(points) };
`;
const AUDIENCE = "leasegate";
let issuer: OidcIssuer;
let mf: Miniflare;
let url: string;

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  const [namespace, bundle] = await Promise.all([newTestNamespace("ae-workerd"), workerBundle()]);
  mf = new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        {
          name: "gateway",
          modules: true,
          scriptPath: bundle,
          modulesRoot: dirname(bundle),
          compatibilityDate: "2026-11-01",
          compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
          bindings: {
            LEASEGATE_CONFIG: JSON.stringify({
              namespace,
              kubernetes: { server: clusterInfo().server },
              issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
              policy: [{ match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
              metrics: { analyticsEngineBinding: "LOCK_METRICS" },
            }),
            LEASEGATE_TOKEN_KEYS: TEST_TOKEN_KEY,
            LEASEGATE_KUBE_TOKEN: gatewayBearerToken(),
          },
          serviceBindings: { LOCK_METRICS: { name: "dataset", entrypoint: "Dataset" } },
        },
        { name: "dataset", modules: true, script: DATASET, compatibilityDate: "2026-11-01" },
      ],
    }),
  );
  url = (await mf.ready).toString().replace(/\/$/, "");
}, 180_000);
afterAll(async () => {
  await mf?.dispose();
  await issuer?.close();
});

async function points(): Promise<AnalyticsEngineDataPoint[]> {
  const dataset = (await mf.getWorker("dataset")) as unknown as { fetch(url: string): Promise<Response> };
  return (await (await dataset.fetch("http://dataset/")).json()) as AnalyticsEngineDataPoint[];
}

describe("metrics on Workers, as Analytics Engine data points", () => {
  it("are one point per request, per lock event and per history Event written, with no lock name, subject or issuer", async () => {
    const alice = await issuer.mint({ sub: "svc-alice" });
    const grant = await callGateway(url, "POST", "/locks/deploy/acquire", { jwt: alice, body: { holder: "ci-1" } });
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    expect((await callGateway(url, "POST", "/locks/deploy/release", { jwt: alice, body: { token: grant.body.token } })).status).toBe(200);
    expect((await callGateway(url, "GET", "/locks/deploy", { jwt: await issuer.mint({ sub: "svc-alice" }, { expiresIn: -3600 }) })).status).toBe(401);

    const until = Date.now() + 15_000;
    let written: AnalyticsEngineDataPoint[] = [];
    while (Date.now() < until) {
      written = await points();
      if (written.filter((point) => point.indexes[0] === "history_written").length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const of = (kind: string) => written.filter((point) => point.indexes[0] === kind).map((point) => point.blobs);
    expect(of("request")).toEqual([
      ["request", "/locks/:name/acquire", "POST", "200", "acquire", "ok", ""],
      ["request", "/locks/:name/release", "POST", "200", "release", "ok", ""],
      ["request", "/locks/:name", "GET", "401", "state", "unauthenticated", "expired"],
    ]);
    expect(of("lock_event")).toEqual([
      ["lock_event", "acquired"],
      ["lock_event", "released"],
    ]);
    expect(of("history_written")).toEqual([
      ["history_written", "created"],
      ["history_written", "created"],
    ]);
    expect(of("history_dropped")).toEqual([]);
    for (const point of written.filter((p) => p.indexes[0] === "request")) expect(point.doubles[0]).toBeGreaterThan(0);
    expect(JSON.stringify(written)).not.toMatch(/deploy"|svc-alice|ci-1|127\.0\.0\.1/);
  });
});
