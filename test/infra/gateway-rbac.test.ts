import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayCan, kubectlJson, newTestNamespace } from "../support/cluster.ts";
import { type GatewayHandle, startMeteredGateway } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { manifestObject } from "./manifest-files.ts";

/**
 * The gateway's Role (infra/k8s/role.yaml) grants exactly the requests the gateway sends: the
 * apiserver allows its ServiceAccount those verbs and no other, and a real gateway, under a
 * workload that sends every kind of request it has (locks, a wait in line, history), uses every
 * one of them and is refused none. What it sent is its own count of its apiserver requests
 * (leasegate_apiserver_requests_total), which counts by the request's method and URL.
 * test/history/history-rbac.test.ts checks the Events verbs in more places.
 */
const AUDIENCE = "leasegate";

/** Every verb Kubernetes authorizes on a resource. */
const VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];

/** What the gateway does, by `group/resource`: there is no `update`, as no request replaces a whole object. */
const GRANTS: Record<string, string[]> = {
  "coordination.k8s.io/leases": ["create", "delete", "get", "list", "patch", "watch"],
  "events.k8s.io/events": ["create", "list", "patch"],
};

/** Which verbs a Role's rules grant, by `group/resource`. */
function grantsOf(rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[]): Record<string, string[]> {
  const grants: Record<string, string[]> = {};
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) grants[`${group}/${resource}`] = [...(grants[`${group}/${resource}`] ?? []), ...rule.verbs].sort();
    }
  }
  return grants;
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<void> {
  for (const until = Date.now() + 15_000; !done(await read()); ) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let namespace: string;
beforeAll(async () => {
  namespace = await newTestNamespace("rbac");
});

describe("the gateway's Role", () => {
  it("grants these verbs on Leases and Events, and nothing else, in infra/k8s/role.yaml and as applied", async () => {
    const role = manifestObject("infra/k8s/role.yaml", "Role");
    expect(grantsOf(role.rules)).toEqual(GRANTS);
    expect(role.rules.every((rule: Record<string, unknown>) => Object.keys(rule).sort().join() === "apiGroups,resources,verbs")).toBe(true);
    const applied = await kubectlJson(["get", "role", role.metadata.name, "-n", namespace, "-o", "json"]);
    expect(applied.rules).toEqual(role.rules);
  });

  it("lets the ServiceAccount do exactly those to Leases in the lock namespace, and nothing in another", async () => {
    const allowed = await Promise.all(VERBS.map((verb) => gatewayCan(verb, "leases.coordination.k8s.io", namespace)));
    expect(VERBS.filter((_, i) => allowed[i])).toEqual(VERBS.filter((verb) => GRANTS["coordination.k8s.io/leases"]!.includes(verb)));
    const elsewhere = await Promise.all(VERBS.map((verb) => gatewayCan(verb, "leases.coordination.k8s.io", "default")));
    expect(elsewhere.some(Boolean)).toBe(false);
  });
});

describe("a gateway under the Role, through every kind of request it sends", () => {
  let issuer: OidcIssuer;
  let gw: GatewayHandle;
  let metricsUrl: string;

  beforeAll(async () => {
    issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
    ({ gw, metricsUrl } = await startMeteredGateway(namespace, issuer));
  });
  afterAll(async () => {
    await gw?.stop();
    await issuer?.close();
  });

  /** The gateway's count of its apiserver requests: verbs by `group/resource`, and the status codes it got. */
  async function sent(): Promise<{ verbs: Record<string, string[]>; codes: Set<string> }> {
    const text = await (await fetch(metricsUrl)).text();
    const groups: Record<string, string> = { leases: "coordination.k8s.io/leases", events: "events.k8s.io/events" };
    const verbs: Record<string, string[]> = {};
    const codes = new Set<string>();
    for (const [, labelText = "", value] of text.matchAll(/^leasegate_apiserver_requests_total\{([^}]*)\} (\S+)$/gm)) {
      if (Number(value) === 0) continue;
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map(([, name, v]) => [name, v]));
      codes.add(labels.code!);
      // `/readyz` is no resource: every identity may read it (system:public-info-viewer).
      if (labels.resource === "readyz") continue;
      const key = groups[labels.resource!] ?? labels.resource!;
      verbs[key] = [...new Set([...(verbs[key] ?? []), labels.verb!])].sort();
    }
    return { verbs, codes };
  }

  it("sends every verb the Role grants, and no other, and is refused nothing", async () => {
    const alice = await issuer.mint({ sub: "svc-alice" });
    const bob = await issuer.mint({ sub: "svc-bob" });
    const call = (method: string, path: string, jwt: string, body?: unknown) => callGateway(gw.url, method, path, { jwt, body });

    expect((await callGateway(gw.url, "GET", "/readyz")).status).toBe(200);
    // The same grant and release, again and again: a lock's Lease, and its history as one Event series.
    for (let i = 0; i < 3; i++) {
      const grant = await call("POST", "/locks/job/acquire", alice, { holder: "ci" });
      expect(grant.status, JSON.stringify(grant.body)).toBe(200);
      expect((await call("POST", "/locks/job/renew", alice, { token: grant.body.token })).status).toBe(200);
      expect((await call("POST", "/locks/job/release", alice, { token: grant.body.token })).status).toBe(200);
    }
    expect((await call("GET", "/locks/job", alice)).status).toBe(200);
    expect((await call("GET", "/locks", alice)).status).toBe(200);

    // A wait in line: a ticket Lease, watched, deleted once its holder is granted.
    const held = await call("POST", "/locks/contended/acquire", alice, { holder: "a", ttlSeconds: 60 });
    expect(held.status).toBe(200);
    const waiting = call("POST", "/locks/contended/acquire", bob, { holder: "b", waitSeconds: 30 });
    await eventually(sent, ({ verbs }) => verbs["coordination.k8s.io/leases"]?.includes("watch") === true, "bob watching");
    expect((await call("POST", "/locks/contended/release", alice, { token: held.body.token })).status).toBe(200);
    const granted = await waiting;
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
    expect((await call("POST", "/locks/contended/release", bob, { token: granted.body.token })).status).toBe(200);

    // History, once the series of job's repeats has been written.
    await eventually(sent, ({ verbs }) => verbs["events.k8s.io/events"]?.includes("patch") === true, "the series written");
    expect((await call("GET", "/locks/job/history", alice)).status).toBe(200);

    const { verbs, codes } = await sent();
    const role = await kubectlJson(["get", "role", manifestObject("infra/k8s/role.yaml", "Role").metadata.name, "-n", namespace, "-o", "json"]);
    expect(verbs).toEqual(grantsOf(role.rules));
    expect([...codes].filter((code) => code === "403" || code === "0")).toEqual([]);
  });
});
