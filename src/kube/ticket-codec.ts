import { DECIMAL_REVISION } from "../locks/lock-record.ts";
import type { TicketRenewal } from "../locks/lock-store.ts";
import type { TicketRecord } from "../locks/queue-ticket.ts";
import { annotationPath, labelPath, type JsonPatchOp, type LeaseObject, MANAGED_BY_LABEL, MANAGED_BY_VALUE, microTime, optionalDate } from "./lease-codec.ts";

/**
 * How a queue ticket is written: a Lease of its own beside the lock's, so that
 * `kubectl get leases -l leasegate.io/queue-for=<lock>` lists a lock's waiters, with each waiter
 * as the Lease's holder and the ticket's life as the Lease's renewTime + leaseDurationSeconds.
 */
export const QUEUE_FOR_LABEL = "leasegate.io/queue-for";
const COMPONENT_LABEL = "app.kubernetes.io/component";
const COMPONENT_VALUE = "queue-ticket";

const A = {
  lock: "leasegate.io/lock",
  order: "leasegate.io/queue-order",
  subject: "leasegate.io/subject",
  issuer: "leasegate.io/issuer",
  holder: "leasegate.io/holder",
} as const;

/** Ticket ids are 32 hex digits, so the name is a valid Lease name that no lock's annotations can be mistaken for. */
export function ticketLeaseName(id: string): string {
  return `leasegate-ticket-${id}`;
}

/**
 * The label value naming a lock: the lock name itself when it fits a label value (63
 * characters), else a digest. Lock names never contain `_`, so the two forms never collide.
 */
export async function queueForValue(lock: string): Promise<string> {
  if (lock.length <= 63) return lock;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(lock)));
  return `sha256_${[...digest.subarray(0, 28)].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

export function isTicketLease(lease: LeaseObject): boolean {
  return lease.metadata?.labels?.[QUEUE_FOR_LABEL] !== undefined;
}

export function ticketToLease(ticket: TicketRecord, queueFor: string): LeaseObject {
  const annotations: Record<string, string> = { [A.lock]: ticket.lock, [A.order]: ticket.order, [A.subject]: ticket.subject };
  if (ticket.issuer !== undefined) annotations[A.issuer] = ticket.issuer;
  if (ticket.label !== undefined) annotations[A.holder] = ticket.label;
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: ticketLeaseName(ticket.id),
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [COMPONENT_LABEL]: COMPONENT_VALUE, [QUEUE_FOR_LABEL]: queueFor },
      annotations,
    },
    spec: {
      holderIdentity: ticket.holderIdentity,
      leaseDurationSeconds: ticket.ttlSeconds,
      acquireTime: microTime(ticket.joinedAt),
      renewTime: microTime(ticket.renewedAt),
    },
  };
}

/** A ticket read back, or null for a Lease that is not a well-formed ticket (never trusted as one). */
export function ticketFromLease(lease: LeaseObject): TicketRecord | null {
  const name = lease.metadata?.name ?? "";
  const annotations = lease.metadata?.annotations ?? {};
  const spec = lease.spec ?? {};
  const id = name.startsWith(ticketLeaseName("")) ? name.slice(ticketLeaseName("").length) : "";
  const joinedAt = optionalDate(spec.acquireTime);
  const renewedAt = optionalDate(spec.renewTime);
  const order = annotations[A.order];
  const lock = annotations[A.lock];
  const subject = annotations[A.subject];
  if (!isTicketLease(lease) || !/^[0-9a-f]{32}$/.test(id) || !lock || !subject || !order || !DECIMAL_REVISION.test(order)) return null;
  if (!spec.holderIdentity || !joinedAt || !renewedAt || typeof spec.leaseDurationSeconds !== "number") return null;
  return {
    lock,
    id,
    holderIdentity: spec.holderIdentity,
    subject,
    issuer: annotations[A.issuer],
    label: annotations[A.holder],
    order,
    joinedAt,
    renewedAt,
    ttlSeconds: spec.leaseDurationSeconds,
  };
}

/** Extends a ticket, testing first that the Lease is still a ticket (a PATCH never creates one). */
export function ticketRenewalPatch(change: TicketRenewal): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [
    { op: "test", path: labelPath(COMPONENT_LABEL), value: COMPONENT_VALUE },
    { op: "add", path: "/spec/renewTime", value: microTime(change.renewedAt) },
    { op: "add", path: "/spec/leaseDurationSeconds", value: change.ttlSeconds },
  ];
  if (change.rejoin) {
    ops.push(
      { op: "add", path: annotationPath(A.order), value: change.rejoin.order },
      { op: "add", path: "/spec/acquireTime", value: microTime(change.rejoin.joinedAt) },
    );
  }
  return ops;
}
