import type { LeaseObject } from "./lease-codec.ts";

/**
 * The Lease calls the store makes (named as in Kubernetes' client libraries), plus a watch of one
 * Lease. Bodies and answers are the apiserver's own JSON.
 */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<LeaseObject>;
  createNamespacedLease(param: { namespace: string; body: LeaseObject }): Promise<LeaseObject>;
  /** A JSON Patch (`application/json-patch+json`). */
  patchNamespacedLease(param: { name: string; namespace: string; body: unknown }): Promise<LeaseObject>;
  /** With `preconditions.resourceVersion`, deletes only an unchanged Lease (409 otherwise). */
  deleteNamespacedLease(param: { name: string; namespace: string; body?: { preconditions?: { resourceVersion?: string } } }): Promise<unknown>;
  listNamespacedLease(param: {
    namespace: string;
    labelSelector?: string;
    limit?: number;
    continueToken?: string;
  }): Promise<{ items: LeaseObject[]; metadata?: { continue?: string; resourceVersion?: string } }>;
  /**
   * One watch request on one Lease, from `resourceVersion` on, until the first sign that it may
   * have changed (see LeaseWatchEnd). Rejects, like the other calls, only when the apiserver could
   * not be reached or refused the watch; an abort of `signal` resolves, leaving no request open.
   */
  watchLease(param: LeaseWatchParam): Promise<LeaseWatchEnd>;
}

export interface LeaseWatchParam {
  namespace: string;
  name: string;
  resourceVersion: string;
  signal: AbortSignal;
}

/**
 * Why a watch ended. All but `aborted` mean "read the Lease again":
 * - `changed`: it was created, written or deleted after `resourceVersion`;
 * - `expired`: `resourceVersion` is older than etcd keeps history for (410 Gone), so changes since
 *   then can no longer be listed;
 * - `ended`: the stream ended without a change (the apiserver's watch timeout, a dropped
 *   connection, an answer that was not a watch event).
 */
export type LeaseWatchEnd = "changed" | "expired" | "ended" | "aborted";
