import { apiserverReadiness } from "./apiserver-readiness.ts";
import { type ApiserverRequestObserver, observedTransport } from "./apiserver-request-observer.ts";
import type { ApiserverTransport } from "./apiserver-transport.ts";
import type { KubeEventApi } from "./events/event-api.ts";
import { LeaseUids } from "./events/lease-uids.ts";
import { restEventApi } from "./events/rest-event-api.ts";
import type { LeaseApi } from "./lease-api.ts";
import { leaseRestApi } from "./lease-rest-api.ts";
import { triageRefusals } from "./refusal-triage.ts";

/** What else the gateway reaches through a LeaseApi's connection: Events, and a view of every request. */
export interface ClusterAccess {
  /** events.k8s.io Events over the Leases' own server, credentials and transport. */
  readonly events: KubeEventApi;
  /** Tells `observer` of every request sent to the apiserver from now on: Leases, watches, `/readyz`, Events. */
  observeRequests(observer: ApiserverRequestObserver): void;
}

const accessOf = new WeakMap<LeaseApi, ClusterAccess>();

/**
 * Everything the gateway asks Kubernetes, over one transport: the Lease calls (403s triaged
 * against the apiserver's `/readyz`), with their ClusterAccess (found again with clusterAccessOf).
 * Lease answers are read in passing for the UIDs Events refer to. Every request, whoever sends
 * it, is measured once an observer is set.
 */
export function clusterLeaseApi(transport: ApiserverTransport, timeoutMs: number): LeaseApi {
  let observer: ApiserverRequestObserver | undefined;
  const observed = observedTransport(transport, () => observer);
  const leases = triageRefusals(leaseRestApi(observed, timeoutMs), apiserverReadiness(observed, timeoutMs));
  const uids = new LeaseUids();
  const noted = async <T>(answer: Promise<T>): Promise<T> => {
    const lease = await answer;
    uids.remember(lease);
    return lease;
  };
  const api: LeaseApi = {
    readNamespacedLease: (param) => noted(leases.readNamespacedLease(param)),
    createNamespacedLease: (param) => noted(leases.createNamespacedLease(param)),
    patchNamespacedLease: (param) => noted(leases.patchNamespacedLease(param)),
    deleteNamespacedLease: async (param) => {
      const answer = await leases.deleteNamespacedLease(param);
      uids.forget(param.namespace, param.name);
      return answer;
    },
    listNamespacedLease: async (param) => {
      const list = await leases.listNamespacedLease(param);
      for (const lease of list.items ?? []) uids.remember(lease);
      return list;
    },
    watchLease: (param) => leases.watchLease(param),
  };
  accessOf.set(api, {
    events: restEventApi(observed, timeoutMs, uids),
    observeRequests: (next) => {
      observer = next;
    },
  });
  return api;
}

/** The ClusterAccess of a LeaseApi made by withClusterAccess; undefined for any other (a test's fake). */
export function clusterAccessOf(api: LeaseApi): ClusterAccess | undefined {
  return accessOf.get(api);
}
