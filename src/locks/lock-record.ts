/**
 * The state of one lock as the algorithm sees it, independent of how it is stored.
 * A lock is held when `holder` is present; expiry is decided by the service's clock.
 */
export interface LockRecord {
  holder?: Holder;
  /** Validity of the current (or last) grant, counted from `renewedAt`. */
  ttlSeconds: number;
  acquiredAt?: Date;
  renewedAt?: Date;
  /** Incremented on every new grant of an existing lock (LeaseSpec.leaseTransitions). */
  transitions: number;
  /**
   * Fencing token of the current grant once a renew has recorded it. Before the first
   * renew the grant is the last write, so its token is the stored revision itself.
   */
  fencingToken?: string;
  /** Who last force-released the lock, and when. */
  forcedRelease?: { by: string; at: Date };
}

export interface Holder {
  /** The authenticated caller (`iss` + `sub`), never chosen by the caller. */
  subject: string;
  /** A free-form caller label (hostname, pipeline run…). */
  label?: string;
  /** Verifier of the lock token: a hash, never the token. */
  verifier: string;
  metadata: Record<string, string>;
}

/** A record together with the revision it was read at or written as. */
export interface Versioned {
  record: LockRecord;
  resourceVersion: string;
}

export function expiresAt(record: LockRecord): Date | undefined {
  if (!record.renewedAt) return undefined;
  return new Date(record.renewedAt.getTime() + record.ttlSeconds * 1000);
}
