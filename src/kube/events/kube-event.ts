/**
 * The slice of an `events.k8s.io/v1` Event this gateway writes and reads back. Times are
 * Kubernetes MicroTime strings (RFC 3339 with exactly six fractional digits): the apiserver
 * refuses any other precision, so they are formatted here rather than by client-node's serializer.
 */
export interface KubeEvent {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  eventTime: string;
  series?: KubeEventSeries;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  type: "Normal" | "Warning";
  note?: string;
  regarding: { apiVersion: string; kind: string; name: string; namespace: string; uid?: string };
}

/** How often a similar event happened again, and when last. */
export interface KubeEventSeries {
  /** At least 2: the apiserver refuses a series of one. */
  count: number;
  lastObservedTime: string;
}

/** A MicroTime: `2026-11-30T17:48:33.299000Z`. */
export function microTime(at: Date): string {
  return at.toISOString().replace(/Z$/, "000Z");
}
