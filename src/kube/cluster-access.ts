import type { Configuration } from "@kubernetes/client-node/dist/gen/configuration.js";
import type { HttpLibrary } from "@kubernetes/client-node/dist/gen/http/http.js";
import { type ApiserverRequestObserver, observedHttpLibrary } from "./apiserver-request-observer.ts";
import { configurationEventApi } from "./events/configuration-event-api.ts";
import type { KubeEventApi } from "./events/event-api.ts";
import { LeaseUids } from "./events/lease-uids.ts";
import type { LeaseApi } from "./lease-api.ts";

/** What else the gateway reaches through a LeaseApi's connection: Events, and a view of every request. */
export interface ClusterAccess {
  /** events.k8s.io Events over the Leases' own server, credentials and transport. */
  readonly events: KubeEventApi;
  /** Tells `observer` of every request sent to the apiserver from now on: Leases, watches, `/readyz`, Events. */
  observeRequests(observer: ApiserverRequestObserver): void;
}

const accessOf = new WeakMap<LeaseApi, ClusterAccess>();

/**
 * Gives a LeaseApi built on `configuration` its ClusterAccess, found again with clusterAccessOf.
 * Lease answers are read in passing for the UIDs Events refer to. The configuration's transport
 * is replaced by a measured one, in place, so that the generated API, the watch and the readiness
 * check built on it before this call are measured too: each of them reads `httpApi` per request.
 */
export function withClusterAccess(configuration: Configuration, leases: LeaseApi): LeaseApi {
  const uids = new LeaseUids();
  let observer: ApiserverRequestObserver | undefined;
  (configuration as { httpApi: HttpLibrary }).httpApi = observedHttpLibrary(configuration.httpApi, () => observer);
  const noted = async <T>(answer: Promise<T>): Promise<T> => {
    const lease = await answer;
    uids.remember(lease);
    return lease;
  };
  const api: LeaseApi = {
    readNamespacedLease: (param) => noted(leases.readNamespacedLease(param)),
    createNamespacedLease: (param) => noted(leases.createNamespacedLease(param)),
    replaceNamespacedLease: (param) => noted(leases.replaceNamespacedLease(param)),
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
    events: configurationEventApi(configuration, uids),
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
