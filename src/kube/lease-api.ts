import type { LeaseObject } from "./lease-codec.ts";

/**
 * The slice of client-node's generated CoordinationV1Api (object-parameter flavour) the store
 * uses. Typed structurally so the Worker can build the API from deep imports without pulling in
 * the Node-only parts of the package.
 */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<LeaseObject>;
  createNamespacedLease(param: { namespace: string; body: LeaseObject }): Promise<LeaseObject>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: LeaseObject }): Promise<LeaseObject>;
  /** client-node sends `application/json-patch+json`, the first media type the operation declares. */
  patchNamespacedLease(param: { name: string; namespace: string; body: unknown }): Promise<LeaseObject>;
  listNamespacedLease(param: {
    namespace: string;
    labelSelector?: string;
    limit?: number;
    _continue?: string;
  }): Promise<{ items: LeaseObject[]; metadata?: { _continue?: string } }>;
}
