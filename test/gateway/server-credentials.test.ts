import type { IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliGatewayConfig, CLI_AUDIENCE } from "../support/cli-gateway.ts";
import { clusterInfo, newTestNamespace } from "../support/cluster.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { gatewayBearerToken, type GatewayOptions, startNodeGateway, startWorkerGateway } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * With `kubernetes.server` the gateway reaches the apiserver (or the Cloudflare Tunnel in front of
 * it) with the ServiceAccount token and the Cloudflare Access service-token headers on every
 * request. Node and Workers send them through different transports (undici, fetch); both must.
 */
const ACCESS = { LEASEGATE_ACCESS_CLIENT_ID: "access-id.access", LEASEGATE_ACCESS_CLIENT_SECRET: "access-secret-0123" };
let issuer: OidcIssuer;

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: CLI_AUDIENCE });
});
afterAll(async () => {
  await issuer?.close();
});

describe.each([
  ["Node", startNodeGateway],
  ["workerd", startWorkerGateway],
] as const)("a %s gateway with kubernetes.server", (_runtime, start: (options: GatewayOptions) => ReturnType<typeof startNodeGateway>) => {
  it("sends the bearer token and the Access headers with every apiserver request, and the lock works", async () => {
    const cluster = clusterInfo();
    const proxy = await startFaultProxy(cluster.server, cluster.caFile);
    const seen: Array<{ method: string; path: string; headers: IncomingHttpHeaders }> = [];
    proxy.setRule((method, path, headers) => {
      seen.push({ method, path, headers });
      return { kind: "pass" };
    });
    const gw = await start({ namespace: await newTestNamespace("server-cred"), config: cliGatewayConfig(issuer), server: proxy.url, env: ACCESS });
    try {
      const jwt = await issuer.mint({ sub: "ci-server-credentials" }, { expiresIn: 600 });
      const granted = await callGateway(gw.url, "POST", "/locks/creds/acquire", { jwt, body: { ttlSeconds: 30 } });
      expect(granted.status, JSON.stringify(granted.body)).toBe(200);
      const released = await callGateway(gw.url, "POST", "/locks/creds/release", { jwt, body: { token: granted.body.token } });
      expect(released.status).toBe(200);

      const leaseRequests = seen.filter((r) => r.path.includes("/leases"));
      expect(leaseRequests.map((r) => r.method)).toEqual(expect.arrayContaining(["GET", "PATCH"]));
      for (const request of seen) {
        expect(request.headers.authorization, `${request.method} ${request.path}`).toBe(`Bearer ${gatewayBearerToken()}`);
        expect(request.headers["cf-access-client-id"], `${request.method} ${request.path}`).toBe(ACCESS.LEASEGATE_ACCESS_CLIENT_ID);
        expect(request.headers["cf-access-client-secret"], `${request.method} ${request.path}`).toBe(ACCESS.LEASEGATE_ACCESS_CLIENT_SECRET);
      }
    } finally {
      await gw.stop();
      await proxy.close();
    }
  }, 60_000);
});
