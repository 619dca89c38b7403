import { expect } from "vitest";
import { kubectlJson } from "./cluster.ts";

/**
 * Shared checks for the security suites: refusals that say nothing more than their code, and
 * snapshots proving that nothing in Kubernetes changed.
 */
export interface ProblemLike {
  status: number;
  contentType: string | null | undefined;
  body: Record<string, unknown> | undefined;
  wwwAuthenticate?: string | null;
}

/** A 401 or 403 problem document with only the standard members: no detail, no hint why. */
export function expectBareRefusal(res: ProblemLike, status: 401 | 403, context = ""): void {
  const code = status === 401 ? "unauthenticated" : "forbidden";
  expect(res.status, `${context} ${JSON.stringify(res.body)}`).toBe(status);
  expect(res.contentType, context).toBe("application/problem+json");
  expect(Object.keys(res.body ?? {}).sort(), context).toEqual(["code", "instance", "status", "title", "type"]);
  expect(res.body, context).toMatchObject({ type: `urn:leasegate:problem:${code}`, code, status });
  if (status === 401) expect(res.wwwAuthenticate, context).toBe('Bearer realm="leasegate"');
}

/** Requests that could change something in Kubernetes, from a fault proxy's counts. */
export function writeRequests(counts: Record<string, number>): number {
  return ["POST", "PUT", "PATCH", "DELETE"].reduce((sum, method) => sum + (counts[method] ?? 0), 0);
}

export type LeaseSnapshot = Record<string, { resourceVersion: string; holderIdentity?: string }>;

/** Every Lease in the namespace with its resourceVersion: equal snapshots mean nothing was written. */
export async function leaseSnapshot(namespace: string): Promise<LeaseSnapshot> {
  const list = await kubectlJson(["get", "leases", "-n", namespace, "-o", "json"]);
  const out: LeaseSnapshot = {};
  for (const lease of list.items as Array<{ metadata: { name: string; resourceVersion: string }; spec?: { holderIdentity?: string } }>) {
    out[lease.metadata.name] = { resourceVersion: lease.metadata.resourceVersion, holderIdentity: lease.spec?.holderIdentity };
  }
  return out;
}
