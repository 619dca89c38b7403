import type { ApiserverTransport } from "./apiserver-transport.ts";
import { requestJson } from "./json-request.ts";
import type { LeaseApi } from "./lease-api.ts";
import type { LeaseObject } from "./lease-codec.ts";
import { leasePath, leasesPath } from "./lease-paths.ts";
import { leaseWatch } from "./lease-watch.ts";

/** The Lease calls the store makes, as plain JSON requests over a transport. */
export function leaseRestApi(transport: ApiserverTransport, timeoutMs: number): LeaseApi {
  const send = <T>(method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown, contentType?: string) =>
    requestJson<T>(transport, timeoutMs, { method, path, body, contentType });

  return {
    readNamespacedLease: ({ namespace, name }) => send<LeaseObject>("GET", leasePath(namespace, name)),
    createNamespacedLease: ({ namespace, body }) => send<LeaseObject>("POST", leasesPath(namespace), body),
    patchNamespacedLease: ({ namespace, name, body }) => send<LeaseObject>("PATCH", leasePath(namespace, name), body, "application/json-patch+json"),
    deleteNamespacedLease: ({ namespace, name, body }) => send<unknown>("DELETE", leasePath(namespace, name), body),
    listNamespacedLease: ({ namespace, labelSelector, limit, continueToken }) => {
      const query = new URLSearchParams();
      if (labelSelector !== undefined) query.set("labelSelector", labelSelector);
      if (limit !== undefined) query.set("limit", String(limit));
      if (continueToken) query.set("continue", continueToken);
      const search = query.size > 0 ? `?${query}` : "";
      return send("GET", `${leasesPath(namespace)}${search}`);
    },
    watchLease: leaseWatch(transport, timeoutMs),
  };
}
