import { type Hold, type LockRecord, SEMAPHORE_HOLDER } from "./lock-record.ts";

/**
 * A lock that admits up to N holders keeps all of them on its one Lease, so every grant is a
 * conditional write of that Lease and fencing tokens stay one strictly increasing sequence per
 * lock. The holders live in `holds`; the Lease's standard holder fields name SEMAPHORE_HOLDER and
 * cover the longest hold, so other Lease clients see the lock held while anyone may hold it.
 */

export function holdExpiresAt(hold: Hold): Date {
  return new Date(hold.renewedAt.getTime() + hold.ttlSeconds * 1000);
}

export function liveHolds(record: LockRecord, now: Date, skewMs: number): Hold[] {
  return (record.holds ?? []).filter((hold) => now.getTime() <= holdExpiresAt(hold).getTime() + skewMs);
}

/** Whether the Lease's own holder is the stand-in for a semaphore's holders (not a grant or another client). */
export function isSemaphoreCover(record: LockRecord): boolean {
  return record.holderIdentity === SEMAPHORE_HOLDER && record.grant === undefined && record.holds !== undefined;
}

/**
 * The lock with `holds` as its holders. The Lease's standard fields are rewritten to cover them,
 * unless they describe another hold (another Lease client, or a single-holder grant made before
 * the lock became a semaphore), which is kept as it is.
 */
export function withHolds(record: LockRecord, holds: Hold[], now: Date, ownsLeaseHolder: boolean): LockRecord {
  const next: LockRecord = { ...record, holds: holds.length > 0 ? holds : undefined };
  if (!ownsLeaseHolder) return next;
  delete next.grant;
  if (holds.length === 0) {
    delete next.holderIdentity;
    return next;
  }
  const longest = Math.max(...holds.map((hold) => holdExpiresAt(hold).getTime()));
  next.holderIdentity = SEMAPHORE_HOLDER;
  next.renewedAt = now;
  next.ttlSeconds = Math.max(1, Math.ceil((longest - now.getTime()) / 1000));
  next.acquiredAt = new Date(Math.min(...holds.map((hold) => hold.acquiredAt.getTime())));
  return next;
}

/** The hold a single-holder lock's grant is, in the same shape as a semaphore's holds. */
export function leaseHolderHold(record: LockRecord): Hold | undefined {
  if (!record.grant || !record.holderIdentity || !record.acquiredAt || !record.renewedAt) return undefined;
  return { holderIdentity: record.holderIdentity, grant: record.grant, ttlSeconds: record.ttlSeconds, acquiredAt: record.acquiredAt, renewedAt: record.renewedAt };
}

