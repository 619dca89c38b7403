import { describe, expect, it } from "vitest";
import { type ApiserverResource, type ApiserverVerb, describeRequest } from "../../src/kube/apiserver-request-observer.ts";
import { clusterAccessOf } from "../../src/kube/cluster-access.ts";
import { EventApiError } from "../../src/kube/events/event-api.ts";
import { fetchLeaseApi } from "../../src/kube/fetch-lease-api.ts";

interface Seen {
  method: string;
  url: string;
  contentType: string | null;
  authorization: string | null;
  body?: string;
}

/** A stand-in apiserver behind the real fetch transport: one Lease, Events accepted, anything else refused. */
function apiserver(options: { eventsStatus?: number } = {}) {
  const seen: Seen[] = [];
  const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "deploy", namespace: "locks", uid: "uid-1", resourceVersion: "7" }, spec: {} };
  const fetch = async (url: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    seen.push({ method: init.method!, url, contentType: headers.get("content-type"), authorization: headers.get("authorization"), body: init.body as string | undefined });
    const path = new URL(url).pathname;
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    if (path.includes("/events")) {
      if (options.eventsStatus) return json(options.eventsStatus, { kind: "Status", code: options.eventsStatus });
      if (init.method === "GET") return json(200, { items: [], metadata: { continue: "next-page" } });
      return json(init.method === "POST" ? 201 : 200, {});
    }
    if (path.endsWith("/leases/deploy")) return json(200, lease);
    return json(404, { kind: "Status", reason: "NotFound", code: 404 });
  };
  const api = fetchLeaseApi({ server: "https://kube.example.test", bearerToken: "sa-token", timeoutMs: 5000, fetch });
  return { api, seen, access: clusterAccessOf(api)! };
}

describe("the cluster behind a LeaseApi", () => {
  it("measures every request the apiserver gets, by resource, verb and status", async () => {
    const { api, access } = apiserver();
    const observed: Array<[ApiserverResource, ApiserverVerb, number]> = [];
    access.observeRequests((resource, verb, code, seconds) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      observed.push([resource, verb, code]);
    });
    await api.readNamespacedLease({ namespace: "locks", name: "deploy" });
    await api.readNamespacedLease({ namespace: "locks", name: "missing" }).catch(() => {});
    await access.events.list("locks", { fieldSelector: "regarding.name=deploy", limit: 5 });
    expect(observed).toEqual([
      ["leases", "get", 200],
      ["leases", "get", 404],
      ["events", "list", 200],
    ]);
  });

  it("tells the Kubernetes verb from the method and URL", () => {
    const lease = "https://k/apis/coordination.k8s.io/v1/namespaces/locks/leases";
    expect(describeRequest("GET", `${lease}/deploy`)).toEqual({ resource: "leases", verb: "get" });
    expect(describeRequest("GET", `${lease}?labelSelector=x`)).toEqual({ resource: "leases", verb: "list" });
    expect(describeRequest("GET", `${lease}?watch=1&fieldSelector=metadata.name%3Dd`)).toEqual({ resource: "leases", verb: "watch" });
    expect(describeRequest("PUT", `${lease}/deploy`)).toEqual({ resource: "leases", verb: "update" });
    expect(describeRequest("DELETE", `${lease}/deploy`)).toEqual({ resource: "leases", verb: "delete" });
    expect(describeRequest("POST", "https://k/apis/events.k8s.io/v1/namespaces/locks/events")).toEqual({ resource: "events", verb: "create" });
    expect(describeRequest("PATCH", "https://k/apis/events.k8s.io/v1/namespaces/locks/events/deploy.1")).toEqual({ resource: "events", verb: "patch" });
    expect(describeRequest("GET", "https://k/readyz")).toEqual({ resource: "readyz", verb: "get" });
    expect(describeRequest("GET", "https://k/version")).toEqual({ resource: "other", verb: "list" });
  });

  it("writes Events with the Leases' credentials, in microseconds, and learns Lease UIDs from Lease answers", async () => {
    const { api, access, seen } = apiserver();
    await api.readNamespacedLease({ namespace: "locks", name: "deploy" });
    expect(await access.events.leaseUid("locks", "deploy")).toBe("uid-1");
    // Known from the read: no second request.
    expect(seen).toHaveLength(1);
    expect(await access.events.leaseUid("locks", "missing")).toBeUndefined();

    await access.events.create("locks", {
      metadata: { name: "deploy.1" },
      eventTime: "2026-01-01T00:00:00.123000Z",
      reportingController: "leasegate",
      reportingInstance: "gw",
      action: "Acquire",
      reason: "Acquired",
      type: "Normal",
      regarding: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: "deploy", namespace: "locks" },
    });
    await access.events.patchSeries("locks", "deploy.1", { count: 2, lastObservedTime: "2026-01-01T00:00:01.000000Z" });
    const [create, patch] = seen.slice(-2);
    expect(create).toMatchObject({ method: "POST", url: "https://kube.example.test/apis/events.k8s.io/v1/namespaces/locks/events", authorization: "Bearer sa-token" });
    expect(JSON.parse(create!.body!)).toMatchObject({ apiVersion: "events.k8s.io/v1", kind: "Event", eventTime: "2026-01-01T00:00:00.123000Z" });
    expect(patch).toMatchObject({ method: "PATCH", contentType: "application/json-patch+json" });
    expect(JSON.parse(patch!.body!)).toEqual([{ op: "add", path: "/series", value: { count: 2, lastObservedTime: "2026-01-01T00:00:01.000000Z" } }]);

    const page = await access.events.list("locks", { fieldSelector: "regarding.name=deploy", limit: 5, continueToken: "abc" });
    expect(page).toEqual({ items: [], continueToken: "next-page" });
    expect(new URL(seen.at(-1)!.url).searchParams.get("continue")).toBe("abc");
  });

  it.each([
    [403, "forbidden"],
    [404, "not_found"],
    [409, "already_exists"],
    [410, "expired"],
    [422, "invalid"],
    [429, "unavailable"],
    [500, "unavailable"],
  ] as const)("reports a %i as %s, without the apiserver's address", async (status, reason) => {
    const { access } = apiserver({ eventsStatus: status });
    const err = await access.events.patchSeries("locks", "deploy.1", { count: 2, lastObservedTime: "2026-01-01T00:00:01.000000Z" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventApiError);
    expect(err).toMatchObject({ reason, status });
    expect((err as Error).message).not.toContain("kube.example.test");
  });
});
