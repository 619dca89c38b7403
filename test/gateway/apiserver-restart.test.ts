import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterHandle, clusterEnvironment, createLockNamespace, startCluster } from "../../infra/test-cluster/cluster.ts";
import { controlCluster } from "../support/cluster.ts";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy.ts";
import { type GatewayHandle, startNodeGateway, startWorkerGateway } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * A kube-apiserver that has just started listens before its RBAC caches are filled and meanwhile
 * answers 403 to every identity. A gateway connected to it directly (one apiserver, or a tunnel,
 * with no load balancer checking /readyz in between) must answer that with 503 and Retry-After,
 * never with 502 `backend_forbidden`: nothing is wrong with its permissions.
 *
 * Each gateway but one reaches the apiserver through its own pass-through proxy, with no readiness
 * gate, which counts the apiserver's answers: the run must show that 403s actually reached those
 * gateways. The last one talks to the apiserver itself over TLS and HTTP/2, as a gateway with
 * `kubernetes.server` or `inCluster` does, and must come through the restart the same way.
 * This file restarts the apiserver, so it runs on a cluster of its own.
 */
const AUDIENCE = "leasegate";
const LOCKS = ["one", "two", "three"];
const CLIENTS_PER_GATEWAY = 6;
/** The 403 window lasts a fraction of a second; restart again until every gateway was caught in it. */
const MAX_RESTARTS = 4;

let cluster: ClusterHandle;
let issuer: OidcIssuer;
let namespace: string;
let kubeToken: string;

beforeAll(async () => {
  [cluster, issuer] = await Promise.all([startCluster(), startOidcIssuer({ defaultAudience: AUDIENCE })]);
  namespace = "restart";
  await createLockNamespace(cluster, namespace);
  kubeToken = readFileSync(cluster.gatewayKubeconfig, "utf8").match(/token: "([^"]+)"/)![1]!;
}, 240_000);

afterAll(async () => {
  await issuer?.close();
  await cluster?.stop();
});

const config = () => ({
  issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
  policy: [{ match: { sub: "client-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
  skewAllowanceSeconds: 0,
  accessLog: false,
});

/** A kubeconfig with the gateway's token whose server is the proxy: client-node's own transport. */
function kubeconfigFor(server: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "leasegate-restart-")), "gateway.kubeconfig");
  writeFileSync(
    path,
    [
      "apiVersion: v1",
      "kind: Config",
      // client-node sends plain HTTP (to the loopback proxy) only with TLS verification off.
      `clusters: [{ name: direct, cluster: { server: "${server}", insecure-skip-tls-verify: true } }]`,
      `users: [{ name: leasegate, user: { token: "${kubeToken}" } }]`,
      `contexts: [{ name: direct, context: { cluster: direct, user: leasegate } }]`,
      "current-context: direct",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return path;
}

/** Each gateway, given the URL it is to reach the apiserver at: its proxy's, or the apiserver's own for the unproxied one. */
const transports = {
  "Node, kubernetes.server": (server: string) =>
    startNodeGateway({ namespace, config: config(), server, kubernetes: { requestTimeoutMs: 2_000 }, env: { LEASEGATE_KUBE_TOKEN: kubeToken } }),
  "Node, kubeconfig transport": (server: string) =>
    startNodeGateway({ namespace, config: config(), kubernetes: { kubeconfig: kubeconfigFor(server), requestTimeoutMs: 2_000 } }),
  "workerd, fetch transport": (server: string) =>
    startWorkerGateway({ namespace, config: config(), server, kubernetes: { requestTimeoutMs: 2_000 }, env: { LEASEGATE_KUBE_TOKEN: kubeToken } }),
  "Node, kubernetes.server over HTTP/2 to the apiserver itself (unproxied)": (server: string) =>
    startNodeGateway({
      namespace,
      config: config(),
      server,
      kubernetes: { requestTimeoutMs: 2_000 },
      // This cluster's own CA, which the suite's environment does not carry.
      env: { LEASEGATE_KUBE_TOKEN: kubeToken, NODE_EXTRA_CA_CERTS: clusterEnvironment(cluster).NODE_EXTRA_CA_CERTS },
    }),
};
const UNPROXIED = 1;

interface Answer {
  gateway: string;
  request: string;
  status: number;
  code?: string;
  retryAfter: string | null;
}

describe("an apiserver restart, with the gateways connected directly", () => {
  it("is only ever 200, 409 or 503 with Retry-After, although the apiserver answered 403", { timeout: 240_000 }, async () => {
    const names = Object.keys(transports) as Array<keyof typeof transports>;
    const proxies: FaultProxy[] = await Promise.all(names.slice(0, -UNPROXIED).map(() => startFaultProxy(cluster.server, cluster.caFile)));
    const gateways: GatewayHandle[] = await Promise.all(names.map((name, i) => transports[name](proxies[i]?.url ?? cluster.server)));
    try {
      const jwts = await Promise.all(Array.from({ length: CLIENTS_PER_GATEWAY }, (_, i) => issuer.mint({ sub: `client-${i}` }, { expiresIn: 3600 })));
      // Every lock exists before the restart, so reading one is a 200.
      for (const lock of LOCKS) {
        const grant = await callGateway(gateways[0]!.url, "POST", `/locks/${lock}/acquire`, { jwt: jwts[0], body: { ttlSeconds: 2 } });
        expect(grant.status, JSON.stringify(grant.body)).toBe(200);
        await callGateway(gateways[0]!.url, "POST", `/locks/${lock}/release`, { jwt: jwts[0], body: { token: grant.body.token } });
      }
      for (const [i, gateway] of gateways.entries()) {
        const read = await callGateway(gateway.url, "GET", `/locks/${LOCKS[0]}`, { jwt: jwts[0] });
        expect(read.status, `${names[i]} before the restart: ${JSON.stringify(read.body)}\n${gateway.logs().slice(-2000)}`).toBe(200);
      }
      for (const proxy of proxies) proxy.resetCounts();

      const answers: Answer[] = [];
      let hammering = true;
      const record = (gateway: number, request: string, res: Awaited<ReturnType<typeof callGateway>>) =>
        answers.push({ gateway: names[gateway]!, request, status: res.status, code: res.body.code as string | undefined, retryAfter: res.headers.get("retry-after") });
      const client = async (gateway: number, client: number) => {
        const url = gateways[gateway]!.url;
        for (let n = 0; hammering; n++) {
          const lock = LOCKS[(client + n) % LOCKS.length]!;
          const acquired = await callGateway(url, "POST", `/locks/${lock}/acquire`, {
            jwt: jwts[client],
            body: { ttlSeconds: 2 },
            headers: { "idempotency-key": `g${gateway}-c${client}-${n}` },
          });
          record(gateway, "acquire", acquired);
          record(gateway, "get", await callGateway(url, "GET", `/locks/${lock}`, { jwt: jwts[client] }));
          if (acquired.status === 200) {
            record(gateway, "release", await callGateway(url, "POST", `/locks/${lock}/release`, { jwt: jwts[client], body: { token: acquired.body.token } }));
          }
          if (client === 0) record(gateway, "readyz", await callGateway(url, "GET", "/readyz"));
        }
      };
      const refusalsSeen = () => proxies.map((proxy) => proxy.answers().api[403] ?? 0);

      const load = gateways.flatMap((_, g) => Array.from({ length: CLIENTS_PER_GATEWAY }, (_, c) => client(g, c)));
      let restarts = 0;
      try {
        while (restarts < MAX_RESTARTS && refusalsSeen().some((seen) => seen === 0)) {
          await controlCluster("apiserver", "restart", cluster);
          restarts++;
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      } finally {
        hammering = false;
        await Promise.all(load);
      }

      const summary = {
        restarts,
        answers: answers.length,
        refusalsFromApiserver: Object.fromEntries(proxies.map((proxy, i) => [names[i], refusalsSeen()[i]])),
        readyzAnswersFromApiserver: Object.fromEntries(proxies.map((proxy, i) => [names[i], proxy.answers().readyz])),
        byStatus: answers.reduce<Record<string, number>>((counts, a) => ({ ...counts, [a.status]: (counts[a.status] ?? 0) + 1 }), {}),
      };
      console.log(`apiserver restart: ${JSON.stringify(summary)}`);

      // The scenario happened: every proxied gateway was answered 403 by the restarting apiserver.
      for (const [name, seen] of Object.entries(summary.refusalsFromApiserver)) expect(seen, `403s that reached ${name}`).toBeGreaterThan(0);
      // And no caller learned of it as anything but "unavailable, retry".
      const wrong = answers.filter(
        (a) => ![200, 409, 503].includes(a.status) || (a.status === 503 && (a.code !== "backend_unavailable" || !(Number(a.retryAfter) > 0))),
      );
      if (wrong.length > 0) {
        // The gateways' own account of what went wrong.
        for (const [i, gateway] of gateways.entries()) console.log(names[i], gateway.logs().split("\n").filter((line) => line.includes('"level":"error"')).slice(0, 5).join("\n"));
      }
      expect(wrong.slice(0, 10)).toEqual([]);
      // Every gateway felt the restart, and every one serves again after it.
      for (const name of names) expect(answers.filter((a) => a.gateway === name && a.status === 503).length, `503s from ${name}`).toBeGreaterThan(0);
      for (const [i, gateway] of gateways.entries()) {
        const read = await callGateway(gateway.url, "GET", `/locks/${LOCKS[0]}`, { jwt: jwts[0] });
        expect(read.status, `${names[i]} after the restarts: ${JSON.stringify(read.body)}`).toBe(200);
      }
    } finally {
      await Promise.all(gateways.map((gateway) => gateway.stop()));
      await Promise.all(proxies.map((proxy) => proxy.close()));
    }
  });
});
