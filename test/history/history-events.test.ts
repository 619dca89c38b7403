import { execFile } from "node:child_process";
import { hostname } from "node:os";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterInfo, kubectlJson, newTestNamespace } from "../support/cluster.ts";
import { type GatewayHandle, startNodeGateway, startWorkerGateway } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * Lock history as Kubernetes Events, end to end: the real gateway on Node and in workerd writes
 * them to the real apiserver, and kubectl (`events --for`, `describe`) and the history route read
 * them back.
 */
const exec = promisify(execFile);
const AUDIENCE = "leasegate";
let issuer: OidcIssuer;

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
});
afterAll(() => issuer.close());

const kubectl = async (...args: string[]) => (await exec("kubectl", ["--kubeconfig", clusterInfo().adminKubeconfig, ...args])).stdout;

interface EventObject {
  metadata: { name: string; annotations?: Record<string, string> };
  eventTime: string;
  reason: string;
  action: string;
  type: string;
  note: string;
  reportingController: string;
  reportingInstance: string;
  series?: { count: number; lastObservedTime: string };
  regarding: Record<string, string>;
}

async function eventsOf(namespace: string, lease: string): Promise<EventObject[]> {
  const list = await kubectlJson(["get", "events.v1.events.k8s.io", "-n", namespace, "--field-selector", `regarding.name=${lease}`, "-o", "json"]);
  return list.items as EventObject[];
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 800)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe.each([
  ["node", startNodeGateway, hostname()],
  ["workerd", startWorkerGateway, "workers"],
] as const)("lock history on %s", (runtime, start, instance) => {
  let gw: GatewayHandle;
  let namespace: string;
  const jwt: Record<string, string> = {};
  const call = (method: string, path: string, who?: string, body?: unknown) => callGateway(gw.url, method, path, { jwt: who && jwt[who], body });

  beforeAll(async () => {
    namespace = await newTestNamespace(`history-${runtime}`);
    gw = await start({
      namespace,
      config: {
        issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
        policy: [
          { match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] },
          { match: { sub: "ops" }, actions: ["admin", "read"], locks: ["*"] },
        ],
        skewAllowanceSeconds: 0,
      },
    });
    for (const sub of ["svc-alice", "svc-bob", "ops", "stranger"]) jwt[sub] = await issuer.mint({ sub });
  });
  afterAll(() => gw?.stop());

  it("records grants and releases as Events about the Lease, a repeat as a series, never a token", async () => {
    const tokens: string[] = [];
    for (const who of ["svc-alice", "svc-alice", "svc-bob"]) {
      const grant = await call("POST", "/locks/deploy/acquire", who, { holder: who === "svc-bob" ? "b-1" : "ci-1" });
      expect(grant.status, JSON.stringify(grant.body)).toBe(200);
      tokens.push(grant.body.token as string);
      expect((await call("POST", "/locks/deploy/release", who, { token: grant.body.token })).status).toBe(200);
    }
    const events = await eventually(
      () => eventsOf(namespace, "deploy"),
      (items) => items.length === 4 && items.some((e) => e.reason === "Acquired" && e.series?.count === 2) && items.some((e) => e.reason === "Released" && e.series?.count === 2),
      "four Events, alice's as series of two",
    );
    const lease = await kubectlJson(["get", "lease", "deploy", "-n", namespace, "-o", "json"]);
    for (const event of events) {
      expect(event.regarding).toEqual({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: "deploy", namespace, uid: lease.metadata.uid });
      expect(event).toMatchObject({ reportingController: "leasegate", reportingInstance: instance, type: "Normal" });
      expect(event.eventTime).toMatch(/\.\d{6}Z$/);
      for (const token of tokens) expect(JSON.stringify(event)).not.toContain(token.split(".")[2]);
    }
    const aliceGranted = events.find((e) => e.reason === "Acquired" && e.series)!;
    expect(aliceGranted.action).toBe("Acquire");
    expect(aliceGranted.note).toMatch(new RegExp(`^Granted to holder "ci-1", subject "svc-alice", issuer "${issuer.issuer.replace(/[.]/g, "\\.")}": fencing token \\d+\\.$`));
    const bobReleased = events.find((e) => e.reason === "Released" && !e.series)!;
    expect(bobReleased.note).toMatch(/^Released by holder "b-1 \(svc-bob\)" at the request of subject "svc-bob", issuer "[^"]+": fencing token \d+, held \d+\.\d s\.$/);

    const listed = await kubectl("events", "--for", "lease/deploy", "-n", namespace);
    expect(listed).toContain("Lease/deploy");
    expect(listed).toMatch(/\(x2 over [^)]+\)\s+Normal\s+Acquired/);
    expect(listed).toContain('Granted to holder "b-1", subject "svc-bob"');
    const described = await kubectl("describe", "lease", "deploy", "-n", namespace);
    expect(described).toMatch(/Events:[\s\S]*Normal\s+Released[\s\S]*leasegate/);
  });

  it("records a force release and the holder's lost renewal as warnings", async () => {
    const grant = await call("POST", "/locks/forced/acquire", "svc-alice", { holder: "f" });
    expect((await call("DELETE", "/locks/forced", "ops")).status).toBe(200);
    expect((await call("POST", "/locks/forced/renew", "svc-alice", { token: grant.body.token })).status).toBe(409);
    const events = await eventually(() => eventsOf(namespace, "forced"), (items) => items.length === 3, "three Events");
    expect(events.map((e) => [e.reason, e.action, e.type]).sort()).toEqual([
      ["Acquired", "Acquire", "Normal"],
      ["ForceReleased", "ForceRelease", "Warning"],
      ["Lost", "Renew", "Warning"],
    ]);
    expect(events.find((e) => e.reason === "ForceReleased")!.note).toMatch(/^Force-released by subject "ops", issuer "[^"]+": ended the hold of "f \(svc-alice\)" \(fencing token \d+\) after \d+\.\d s\.$/);
  });

  it("serves the history newest first, a page at a time, to callers who may read the lock", async () => {
    for (let i = 0; i < 3; i++) {
      const grant = await call("POST", "/locks/paged/acquire", "svc-bob", { holder: `run-${i}` });
      expect((await call("POST", "/locks/paged/release", "svc-bob", { token: grant.body.token })).status).toBe(200);
    }
    await eventually(() => eventsOf(namespace, "paged"), (items) => items.length === 6, "six Events");
    const seen: Array<Record<string, unknown>> = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await call("GET", `/locks/paged/history?limit=4${cursor ? `&continue=${encodeURIComponent(cursor)}` : ""}`, "svc-alice");
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      seen.push(...(page.body.items as Array<Record<string, unknown>>));
      cursor = page.body.continue as string | undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(seen.map((entry) => `${entry.reason} ${entry.holder ?? entry.holderIdentity}`)).toEqual([
      "Released run-2 (svc-bob)",
      "Acquired run-2",
      "Released run-1 (svc-bob)",
      "Acquired run-1",
      "Released run-0 (svc-bob)",
      "Acquired run-0",
    ]);
    const times = seen.map((entry) => Date.parse(entry.at as string));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(seen[1]).toMatchObject({ kind: "acquired", subject: "svc-bob", issuer: issuer.issuer, count: 1, fencingToken: expect.stringMatching(/^\d+$/) });

    const forged = await call("GET", "/locks/paged/history?continue=lc1.AAAA", "svc-alice");
    expect(forged.status).toBe(400);
    expect(forged.body).toMatchObject({ code: "invalid_request", errors: [{ path: "query.continue" }] });
    const first = await call("GET", "/locks/paged/history?limit=1", "svc-alice");
    const borrowed = await call("GET", `/locks/deploy/history?continue=${encodeURIComponent(first.body.continue as string)}`, "svc-alice");
    expect(borrowed.status).toBe(400);
    expect((await call("GET", "/locks/paged/history", "stranger")).status).toBe(403);
    expect((await call("GET", "/locks/paged/history")).status).toBe(401);
    expect(await call("GET", "/locks/never-used/history", "svc-alice")).toMatchObject({ status: 200, body: { items: [] } });
  });
});
