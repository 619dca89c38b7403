import type { HeldChange } from "../locks/lock-store.ts";
import type { LockRecord } from "../locks/lock-record.ts";

/**
 * How a lock is written into a coordination.k8s.io/v1 Lease. The standard LeaseSpec fields carry
 * the state, so `kubectl get leases` and client-go tell the same truth; what a Lease has no field
 * for lives in annotations under `leasegate.io/`.
 */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "leasegate";

const A = {
  subject: "leasegate.io/subject",
  holder: "leasegate.io/holder",
  verifier: "leasegate.io/token-verifier",
  fencingToken: "leasegate.io/fencing-token",
  metadata: "leasegate.io/metadata",
  forcedBy: "leasegate.io/forced-release-by",
  forcedAt: "leasegate.io/forced-release-at",
} as const;

/** Annotations that describe a grant and go away with it. */
const GRANT_ANNOTATIONS = [A.subject, A.holder, A.verifier, A.fencingToken, A.metadata];

export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string | Date;
    renewTime?: string | Date;
    leaseTransitions?: number;
  };
}

export function isManaged(lease: LeaseObject): boolean {
  return lease.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** `holderIdentity` as people read it: the caller's label and the authenticated subject. */
export function holderIdentity(subject: string, label: string | undefined): string {
  return label ? `${label} (${subject})` : subject;
}

/** The whole Lease for a create or a replace; the caller adds the resourceVersion precondition. */
export function toLease(name: string, record: LockRecord): LeaseObject {
  const annotations: Record<string, string> = {};
  const { holder } = record;
  if (holder) {
    annotations[A.subject] = holder.subject;
    annotations[A.verifier] = holder.verifier;
    if (holder.label !== undefined) annotations[A.holder] = holder.label;
    if (Object.keys(holder.metadata).length > 0) annotations[A.metadata] = JSON.stringify(holder.metadata);
  }
  if (holder && record.fencingToken) annotations[A.fencingToken] = record.fencingToken;
  if (record.forcedRelease) {
    annotations[A.forcedBy] = record.forcedRelease.by;
    annotations[A.forcedAt] = microTime(record.forcedRelease.at);
  }
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, annotations },
    spec: {
      holderIdentity: holder ? holderIdentity(holder.subject, holder.label) : undefined,
      leaseDurationSeconds: record.ttlSeconds,
      acquireTime: record.acquiredAt ? microTime(record.acquiredAt) : undefined,
      renewTime: record.renewedAt ? microTime(record.renewedAt) : undefined,
      leaseTransitions: record.transitions,
    },
  };
}

/** Reads a managed Lease back; throws on anything that cannot be a lock we wrote. */
export function fromLease(lease: LeaseObject): LockRecord {
  const annotations = lease.metadata?.annotations ?? {};
  const spec = lease.spec ?? {};
  const record: LockRecord = {
    ttlSeconds: spec.leaseDurationSeconds ?? 0,
    transitions: spec.leaseTransitions ?? 0,
    acquiredAt: optionalDate(spec.acquireTime),
    renewedAt: optionalDate(spec.renewTime),
  };
  const verifier = annotations[A.verifier];
  const subject = annotations[A.subject];
  // A holder needs both the Lease's holderIdentity and our verifier: a Lease whose holder was
  // cleared by someone else (kubectl, client-go release) is free, whatever annotations remain.
  if (spec.holderIdentity && verifier && subject) {
    record.holder = {
      subject,
      verifier,
      label: annotations[A.holder],
      metadata: parseMetadata(annotations[A.metadata]),
    };
    if (annotations[A.fencingToken]) record.fencingToken = annotations[A.fencingToken];
  }
  const forcedBy = annotations[A.forcedBy];
  const forcedAt = optionalDate(annotations[A.forcedAt]);
  if (forcedBy && forcedAt) record.forcedRelease = { by: forcedBy, at: forcedAt };
  return record;
}

type JsonPatchOp =
  | { op: "test" | "add" | "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

/**
 * A JSON Patch that applies `change` only while the Lease still carries `verifier`: the
 * apiserver evaluates the `test` and the writes atomically, so renew and release need one
 * request and no prior read, yet can never touch a grant that is not theirs.
 */
export function heldChangePatch(verifier: string, change: HeldChange): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [{ op: "test", path: annotationPath(A.verifier), value: verifier }];
  if (change.kind === "renew") {
    ops.push({ op: "add", path: "/spec/renewTime", value: microTime(change.renewedAt) });
    if (change.ttlSeconds !== undefined) ops.push({ op: "add", path: "/spec/leaseDurationSeconds", value: change.ttlSeconds });
    ops.push({ op: "add", path: annotationPath(A.fencingToken), value: change.fencingToken });
    return ops;
  }
  ops.push({ op: "remove", path: "/spec/holderIdentity" });
  for (const key of GRANT_ANNOTATIONS) {
    // `remove` fails on a missing member and JSON Patch has no "remove if present":
    // adding first makes the pair valid whether or not the grant had this annotation.
    ops.push({ op: "add", path: annotationPath(key), value: "" }, { op: "remove", path: annotationPath(key) });
  }
  return ops;
}

function annotationPath(key: string): string {
  return `/metadata/annotations/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

/** metav1.MicroTime's wire format: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function optionalDate(value: string | Date | undefined): Date | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function parseMetadata(text: string | undefined): Record<string, string> {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === "string"));
    }
  } catch {
    // Metadata is informational; a hand-edited annotation must not make the lock unreadable.
  }
  return {};
}
