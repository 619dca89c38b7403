/**
 * The state of one lock as the algorithm sees it, independent of how it is stored. It mirrors a
 * Lease: whoever holds it (any Lease client) is named by `holderIdentity`; `grant` is present
 * only when that holder is a grant this service made. Expiry is decided by the service's clock.
 */
export interface LockRecord {
  /** The holder as every Lease client reads it; absent when free. */
  holderIdentity?: string;
  /** Present only when the holder is a grant of this service (identity and verifier both match). */
  grant?: GrantRecord;
  /** Validity of the current (or last) hold, counted from `renewedAt`. */
  ttlSeconds: number;
  acquiredAt?: Date;
  renewedAt?: Date;
  /** Incremented on every new grant of an existing lock (LeaseSpec.leaseTransitions). */
  transitions: number;
  /** Who last force-released the lock, and when. */
  forcedRelease?: { by: string; issuer?: string; at: Date };
  /**
   * Set to a new value by every waiter that joins the lock's queue (after its ticket exists), and
   * cleared only by a grant that found no ticket at all. While set, the lock is not free for a
   * caller without a place in line, and since each join changes the lock's revision, a grant
   * decided on a queue read before that join can no longer be written.
   */
  queueMark?: string;
  /** The ticket the latest grant was made to (see grantedTicketOf); outlives the grant's release. */
  grantedTicket?: string;
  /**
   * The holders of a lock that admits several (a semaphore, see semaphore.ts). While any may hold
   * it, the Lease's own holder is SEMAPHORE_HOLDER, renewed to cover the longest of them, so other
   * Lease clients see it held.
   */
  holds?: Hold[];
}

/** One holder of a semaphore: a grant of this service with its own validity. */
export interface Hold {
  holderIdentity: string;
  grant: GrantRecord;
  ttlSeconds: number;
  acquiredAt: Date;
  renewedAt: Date;
}

/** The Lease's holder while a semaphore has holders; recognised as such only together with `holds`. */
export const SEMAPHORE_HOLDER = "leasegate/semaphore";

export interface GrantRecord {
  /** The authenticated caller (`sub`, or the issuer's subject claim), never chosen by the caller. */
  subject: string;
  /** The issuer that authenticated `subject`: the same `sub` from two issuers is two callers. */
  issuer?: string;
  /** A free-form caller label (hostname, pipeline run…). */
  label?: string;
  /** Verifier of the lock token: a hash, never the token. */
  verifier: string;
  /** Written once, by the granting write itself; renewals never change it. */
  fencingToken: string;
  metadata: Record<string, string>;
}

/** A fencing token, and a storage revision it is made from: an unsigned decimal integer. */
export const DECIMAL_REVISION = /^[0-9]{1,20}$/;

/** A record together with the revision it was read at or written as. */
export interface Versioned {
  record: LockRecord;
  resourceVersion: string;
}

export function expiresAt(record: LockRecord): Date | undefined {
  if (!record.renewedAt) return undefined;
  return new Date(record.renewedAt.getTime() + record.ttlSeconds * 1000);
}
