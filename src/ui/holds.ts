import type { HolderView, LockView } from "./lock-view.ts";

/** A lock that admits more than one holder at a time. */
export function isSemaphore(lock: Pick<LockView, "maxHolders">): boolean {
  return (lock.maxHolders ?? 1) > 1;
}

/**
 * Who holds the lock now, one entry per hold: a semaphore's holders, or the lock's one holder
 * (a grant, or another Lease client, known by its holderIdentity alone).
 */
export function holdsOf(lock: LockView): HolderView[] {
  if (lock.status === "free") return [];
  if (isSemaphore(lock) && lock.holders !== undefined && lock.holders.length > 0) return lock.holders;
  if (lock.holderIdentity === undefined) return [];
  const { holder, holderIdentity, subject, fencingToken, acquiredAt, renewedAt, expiresAt } = lock;
  return [{ holder, holderIdentity, subject, fencingToken, acquiredAt, renewedAt, expiresAt }];
}

/**
 * Names exactly the holds a force-release confirmation showed: the page sends it back, and the
 * gateway releases only while the lock's holds are still these.
 */
export function holdsFingerprint(lock: LockView): string {
  const holds = holdsOf(lock).map((hold) => [hold.holderIdentity ?? "", hold.fencingToken ?? ""]);
  holds.sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
  return JSON.stringify(holds);
}
