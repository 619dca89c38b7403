import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayCan, kubectlJson, newTestNamespace } from "../support/cluster.ts";
import { type GatewayHandle, startMeteredGateway } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { parseWithPrometheusClient, valueOf } from "../metrics/exposition-parsers.ts";

/**
 * What lock history may do in Kubernetes, proven on the real apiserver with the Role from
 * infra/k8s as the tests apply it: exactly create and patch (and list, for the history route) on
 * events.k8s.io Events in the lock namespace. And a gateway without them still serves locks.
 */
const AUDIENCE = "leasegate";

describe("the gateway's rights on Events", () => {
  let namespace: string;
  beforeAll(async () => {
    namespace = await newTestNamespace("history-rbac");
  });

  it("are create, patch and list on events.k8s.io Events, as infra/k8s/role.yaml says", async () => {
    const manifest = readFileSync(new URL("../../infra/k8s/role.yaml", import.meta.url), "utf8");
    expect(manifest).toMatch(/apiGroups: \["events\.k8s\.io"\]\s+resources: \["events"\]\s+verbs: \["create", "patch", "list"\]/);
    const role = await kubectlJson(["get", "role", "leasegate-leases", "-n", namespace, "-o", "json"]);
    expect(role.rules).toEqual([
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
      { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "list"] },
    ]);
  });

  it("hold in the lock namespace, and nothing more: no other verb, not the core group's Events, no other namespace", async () => {
    for (const verb of ["create", "patch", "list"]) expect(await gatewayCan(verb, "events.events.k8s.io", namespace), verb).toBe(true);
    for (const verb of ["get", "watch", "update", "delete", "deletecollection"]) expect(await gatewayCan(verb, "events.events.k8s.io", namespace), verb).toBe(false);
    for (const verb of ["create", "patch", "list"]) expect(await gatewayCan(verb, "events", namespace), `core ${verb}`).toBe(false);
    for (const verb of ["create", "patch", "list"]) expect(await gatewayCan(verb, "events.events.k8s.io", "default"), `default ${verb}`).toBe(false);
  });
});

describe("a gateway whose identity may not write Events", () => {
  let issuer: OidcIssuer;
  let gw: GatewayHandle;
  let metricsUrl: string;
  let alice: string;

  beforeAll(async () => {
    issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
    const namespace = await newTestNamespace("history-norbac");
    // The Role as an operator who kept the old one would have it: Leases only.
    await kubectlJson(["patch", "role", "leasegate-leases", "-n", namespace, "--type=json", "-p", '[{"op":"remove","path":"/rules/1"}]', "-o", "json"]);
    ({ gw, metricsUrl } = await startMeteredGateway(namespace, issuer));
    alice = await issuer.mint({ sub: "svc-alice" });
  });
  afterAll(async () => {
    await gw?.stop();
    await issuer?.close();
  });

  it("still grants and releases, counts every Event it could not write, and tells the operator once", async () => {
    for (let i = 0; i < 2; i++) {
      const grant = await callGateway(gw.url, "POST", "/locks/deploy/acquire", { jwt: alice, body: { holder: `run-${i}` } });
      expect(grant.status, JSON.stringify(grant.body)).toBe(200);
      const released = await callGateway(gw.url, "POST", "/locks/deploy/release", { jwt: alice, body: { token: grant.body.token } });
      expect(released.body).toEqual({ released: true });
    }
    const until = Date.now() + 15_000;
    let dropped = 0;
    while (dropped < 4 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      dropped = valueOf(await parseWithPrometheusClient(await (await fetch(metricsUrl)).text()), "leasegate_history_events_dropped_total", { reason: "forbidden" });
    }
    expect(dropped).toBe(4);
    const warnings = gw.logs().split("\n").filter((line) => line.includes("lock history Events are being dropped"));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: "warn", reason: "forbidden", hint: expect.stringContaining("infra/k8s/role.yaml") });
  });

  it("answers the history route with 502 backend_forbidden, naming the permission", async () => {
    const res = await callGateway(gw.url, "GET", "/locks/deploy/history", { jwt: alice });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: "backend_forbidden", detail: expect.stringContaining("events.events.k8s.io") });
  });
});
