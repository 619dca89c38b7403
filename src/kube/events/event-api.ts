import type { KubeEvent, KubeEventSeries } from "./kube-event.ts";

/**
 * What the lock history needs of the apiserver: create an Event, extend its series, list the
 * Events about one Lease, and find a Lease's UID (which `kubectl describe` matches Events on).
 * Rejects only with EventApiError, so nothing outside src/kube sees a Kubernetes error.
 */
export interface KubeEventApi {
  create(namespace: string, event: KubeEvent): Promise<void>;
  patchSeries(namespace: string, name: string, series: KubeEventSeries): Promise<void>;
  list(namespace: string, options: EventListOptions): Promise<EventListPage>;
  /** The Lease's UID, from a recent Lease answer or one read; undefined when there is no such Lease. */
  leaseUid(namespace: string, name: string): Promise<string | undefined>;
}

export interface EventListOptions {
  fieldSelector: string;
  limit: number;
  continueToken?: string;
}

export interface EventListPage {
  items: KubeEvent[];
  continueToken?: string;
}

export type EventFailure =
  /** The gateway's identity lacks the permission (403). */
  | "forbidden"
  /** The Event (or Lease) is gone: expired by the apiserver's event TTL, or deleted. */
  | "not_found"
  | "already_exists"
  /** The apiserver refused the request's content (400, 422) or a continue value (400). */
  | "invalid"
  /** A continue value older than etcd keeps history for (410). */
  | "expired"
  /** No answer, a timeout, 429 or a server error. */
  | "unavailable";

export class EventApiError extends Error {
  readonly reason: EventFailure;
  /** The HTTP status, when there was an answer. */
  readonly status?: number;
  constructor(reason: EventFailure, message: string, status?: number) {
    super(message);
    this.name = "EventApiError";
    this.reason = reason;
    this.status = status;
  }
}

export function failureOfStatus(status: number): EventFailure {
  if (status === 403 || status === 401) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 409) return "already_exists";
  if (status === 410) return "expired";
  if (status === 400 || status === 422) return "invalid";
  return "unavailable";
}
