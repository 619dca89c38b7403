import { holderIdentityOf } from "../locks/holder-identity.ts";
import type { GrantClaim, HeldChange } from "../locks/lock-store.ts";
import { DECIMAL_REVISION, type GrantRecord, type Hold, type LockRecord } from "../locks/lock-record.ts";

/**
 * How a lock is written into a coordination.k8s.io/v1 Lease. The standard LeaseSpec fields carry
 * the state, so `kubectl get leases` and client-go tell the same truth; what a Lease has no field
 * for lives in annotations under `leasegate.io/`.
 */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "leasegate";

const A = {
  subject: "leasegate.io/subject",
  issuer: "leasegate.io/issuer",
  holder: "leasegate.io/holder",
  verifier: "leasegate.io/token-verifier",
  fencingToken: "leasegate.io/fencing-token",
  metadata: "leasegate.io/metadata",
  forcedBy: "leasegate.io/forced-release-by",
  forcedByIssuer: "leasegate.io/forced-release-issuer",
  forcedAt: "leasegate.io/forced-release-at",
  queueMark: "leasegate.io/queue",
  grantedTicket: "leasegate.io/granted-ticket",
  holds: "leasegate.io/holders",
} as const;

/** Annotations that describe a grant and go away with it. */
const GRANT_ANNOTATIONS = [A.subject, A.issuer, A.holder, A.verifier, A.fencingToken, A.metadata];

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

/** The whole Lease for a create or a replace; the caller adds the resourceVersion precondition. */
export function toLease(name: string, record: LockRecord): LeaseObject {
  const annotations: Record<string, string> = {};
  const { grant } = record;
  if (grant) {
    annotations[A.subject] = grant.subject;
    if (grant.issuer !== undefined) annotations[A.issuer] = grant.issuer;
    annotations[A.verifier] = grant.verifier;
    annotations[A.fencingToken] = grant.fencingToken;
    if (grant.label !== undefined) annotations[A.holder] = grant.label;
    if (Object.keys(grant.metadata).length > 0) annotations[A.metadata] = JSON.stringify(grant.metadata);
  }
  if (record.forcedRelease) {
    annotations[A.forcedBy] = record.forcedRelease.by;
    if (record.forcedRelease.issuer !== undefined) annotations[A.forcedByIssuer] = record.forcedRelease.issuer;
    annotations[A.forcedAt] = microTime(record.forcedRelease.at);
  }
  if (record.queueMark !== undefined) annotations[A.queueMark] = record.queueMark;
  if (record.grantedTicket !== undefined) annotations[A.grantedTicket] = record.grantedTicket;
  if (record.holds !== undefined) annotations[A.holds] = JSON.stringify(record.holds.map(holdToJson));
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, annotations },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.ttlSeconds,
      acquireTime: record.acquiredAt ? microTime(record.acquiredAt) : undefined,
      renewTime: record.renewedAt ? microTime(record.renewedAt) : undefined,
      leaseTransitions: record.transitions,
    },
  };
}

/**
 * Reads a managed Lease back. Who holds it is decided by the standard LeaseSpec alone, as every
 * Lease client decides it; the hold is a grant of this service only when the holder identity is
 * exactly the one written for the grant in the annotations, so the annotations another client
 * left in place when it took the Lease over are never mistaken for a grant.
 */
export function fromLease(lease: LeaseObject): LockRecord {
  const annotations = lease.metadata?.annotations ?? {};
  const spec = lease.spec ?? {};
  const record: LockRecord = {
    ttlSeconds: spec.leaseDurationSeconds ?? 0,
    transitions: spec.leaseTransitions ?? 0,
    acquiredAt: optionalDate(spec.acquireTime),
    renewedAt: optionalDate(spec.renewTime),
  };
  if (spec.holderIdentity) {
    record.holderIdentity = spec.holderIdentity;
    const grant = grantOf(annotations);
    if (grant && holderIdentityOf(grant.subject, grant.label) === spec.holderIdentity) record.grant = grant;
  }
  const forcedBy = annotations[A.forcedBy];
  const forcedAt = optionalDate(annotations[A.forcedAt]);
  if (forcedBy && forcedAt) record.forcedRelease = { by: forcedBy, issuer: annotations[A.forcedByIssuer], at: forcedAt };
  if (annotations[A.queueMark] !== undefined) record.queueMark = annotations[A.queueMark];
  if (annotations[A.grantedTicket] !== undefined) record.grantedTicket = annotations[A.grantedTicket];
  const holds = parseHolds(annotations[A.holds]);
  if (holds) record.holds = holds;
  return record;
}

/** A semaphore's hold as it is kept in the `leasegate.io/holders` annotation. */
function holdToJson(hold: Hold) {
  const { grant } = hold;
  return {
    holderIdentity: hold.holderIdentity,
    subject: grant.subject,
    issuer: grant.issuer,
    holder: grant.label,
    verifier: grant.verifier,
    fencingToken: grant.fencingToken,
    metadata: grant.metadata,
    ttlSeconds: hold.ttlSeconds,
    acquireTime: microTime(hold.acquiredAt),
    renewTime: microTime(hold.renewedAt),
  };
}

/**
 * The holds, each only if well-formed and its holder identity is the one its grant gives (a
 * hand-edited entry is no hold). Undefined for no annotation or one that is not a list.
 */
function parseHolds(text: string | undefined): Hold[] | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  return parsed.flatMap((entry: Record<string, unknown>) => {
    if (!entry || typeof entry !== "object") return [];
    const text = (key: string) => (typeof entry[key] === "string" ? (entry[key] as string) : undefined);
    const subject = text("subject");
    const verifier = text("verifier");
    const fencingToken = text("fencingToken");
    const acquiredAt = optionalDate(text("acquireTime"));
    const renewedAt = optionalDate(text("renewTime"));
    const ttlSeconds = entry.ttlSeconds;
    if (!subject || !verifier || !fencingToken || !DECIMAL_REVISION.test(fencingToken) || !acquiredAt || !renewedAt) return [];
    if (typeof ttlSeconds !== "number" || !Number.isInteger(ttlSeconds) || ttlSeconds < 1) return [];
    const label = text("holder");
    if (text("holderIdentity") !== holderIdentityOf(subject, label)) return [];
    const metadata = entry.metadata && typeof entry.metadata === "object" ? parseMetadata(JSON.stringify(entry.metadata)) : {};
    return [{ holderIdentity: holderIdentityOf(subject, label), grant: { subject, issuer: text("issuer"), label, verifier, fencingToken, metadata }, ttlSeconds, acquiredAt, renewedAt }];
  });
}

function grantOf(annotations: Record<string, string>): GrantRecord | undefined {
  const subject = annotations[A.subject];
  const verifier = annotations[A.verifier];
  const fencingToken = annotations[A.fencingToken];
  if (!subject || !verifier || !fencingToken || !DECIMAL_REVISION.test(fencingToken)) return undefined;
  return {
    subject,
    issuer: annotations[A.issuer],
    label: annotations[A.holder],
    verifier,
    fencingToken,
    metadata: parseMetadata(annotations[A.metadata]),
  };
}

/**
 * The whole Lease as a JSON Patch conditioned on `resourceVersion`: the write a PUT at that
 * revision would make, except that a PATCH never creates the object. A PUT would: Leases allow
 * create-on-update, so a Lease deleted since it was read would come back with a grant whose
 * fencing token was fixed from the old revision, and tokens could repeat or go backwards.
 */
export function replacePatch(name: string, record: LockRecord, resourceVersion: string): JsonPatchOp[] {
  const lease = toLease(name, record);
  return [
    { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
    { op: "add", path: "/metadata/labels", value: lease.metadata!.labels },
    { op: "add", path: "/metadata/annotations", value: lease.metadata!.annotations },
    // Absent members (no holder, no times) are dropped as the body is serialised.
    { op: "add", path: "/spec", value: JSON.parse(JSON.stringify(lease.spec)) },
  ];
}

export type JsonPatchOp =
  | { op: "test" | "add" | "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

/**
 * A JSON Patch that applies `change` only while the Lease is still held by exactly the claimed
 * grant: still managed by leasegate, the same holder identity (no other client took it over),
 * the same verifier and the same fencing token (no later grant, even one made with the same
 * Idempotency-Key). The apiserver evaluates the `test`s and the writes atomically, so renew and
 * release need one request and no prior read, yet can never touch a hold that is not theirs.
 * A `test` of a member that is missing fails like one of a different value.
 */
export function heldChangePatch(claim: GrantClaim, change: HeldChange): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [
    { op: "test", path: labelPath(MANAGED_BY_LABEL), value: MANAGED_BY_VALUE },
    { op: "test", path: "/spec/holderIdentity", value: claim.holderIdentity },
    { op: "test", path: annotationPath(A.verifier), value: claim.verifier },
    { op: "test", path: annotationPath(A.fencingToken), value: claim.fencingToken },
  ];
  if (change.kind === "renew") {
    ops.push({ op: "add", path: "/spec/renewTime", value: microTime(change.renewedAt) });
    if (change.ttlSeconds !== undefined) ops.push({ op: "add", path: "/spec/leaseDurationSeconds", value: change.ttlSeconds });
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

export function labelPath(key: string): string {
  return `/metadata/labels/${escapePointer(key)}`;
}

export function annotationPath(key: string): string {
  return `/metadata/annotations/${escapePointer(key)}`;
}

/** A JSON Pointer reference token (RFC 6901): `~` and `/` are escaped. */
function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** metav1.MicroTime's wire format: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export function optionalDate(value: string | Date | undefined): Date | undefined {
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
