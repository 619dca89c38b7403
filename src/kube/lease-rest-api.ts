import type { ApiserverTransport } from "./apiserver-transport.ts";
import { requestJson } from "./json-request.ts";
import type { LeaseApi } from "./lease-api.ts";
import type { LeaseObject } from "./lease-codec.ts";
import { leaseWatch } from "./lease-watch.ts";

const LEASES = "/apis/coordination.k8s.io/v1/namespaces";

/** The Lease calls the store makes, as plain JSON requests over a transport. */
export function leaseRestApi(transport: ApiserverTransport, timeoutMs: number): LeaseApi {
  const leases = (namespace: string) => `${LEASES}/${encodeURIComponent(namespace)}/leases`;
  const lease = (namespace: string, name: string) => `${leases(namespace)}/${encodeURIComponent(name)}`;
  const send = <T>(method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown, contentType?: string) =>
    requestJson<T>(transport, timeoutMs, { method, path, body, contentType });

  return {
    readNamespacedLease: ({ namespace, name }) => send<LeaseObject>("GET", lease(namespace, name)),
    createNamespacedLease: ({ namespace, body }) => send<LeaseObject>("POST", leases(namespace), body),
    patchNamespacedLease: ({ namespace, name, body }) => send<LeaseObject>("PATCH", lease(namespace, name), body, "application/json-patch+json"),
    deleteNamespacedLease: ({ namespace, name, body }) => send<unknown>("DELETE", lease(namespace, name), body),
    listNamespacedLease: ({ namespace, labelSelector, limit, continueToken }) => {
      const query = new URLSearchParams();
      if (labelSelector !== undefined) query.set("labelSelector", labelSelector);
      if (limit !== undefined) query.set("limit", String(limit));
      if (continueToken) query.set("continue", continueToken);
      const search = query.size > 0 ? `?${query}` : "";
      return send("GET", `${leases(namespace)}${search}`);
    },
    watchLease: leaseWatch(transport, timeoutMs),
  };
}
