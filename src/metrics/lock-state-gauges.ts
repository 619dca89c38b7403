import type { LockState } from "../locks/lock-service.ts";
import type { Registry } from "./registry.ts";

/** One page of every lock's state, as `GET /locks` reads it (LockService.list). */
export type LockPages = (cursor: string | undefined) => Promise<{ items: LockState[]; cursor?: string }>;

export interface LockStateGaugeOptions {
  /** A snapshot younger than this is reused: each refresh lists the Leases (one request per 500 locks, plus the lines). */
  maxAgeMs: number;
  /** Monotonic milliseconds. */
  now?: () => number;
}

/** Locks read per request to the apiserver. */
export const LOCK_STATE_PAGE_SIZE = 500;
/** The most locks counted in one snapshot; beyond it the gauges count the first ones only. */
export const MAX_LOCKS_COUNTED = 10_000;

/**
 * Held locks, holders and waiters as the cluster has them, read when Prometheus scrapes: no
 * replica could count them from its own requests, since grants expire silently and another
 * replica may release what this one granted. Every replica reports the same numbers (aggregate
 * them with max, not sum).
 */
export function registerLockStateGauges(registry: Registry, pages: LockPages, options: LockStateGaugeOptions): void {
  const now = options.now ?? (() => performance.now());
  const locks = registry.gauge({ name: "leasegate_locks", help: "Locks by status (held, expired, free), as the Leases say.", labelNames: ["status"] });
  const holders = registry.gauge({ name: "leasegate_lock_holders", help: "Live grants, every holder of a semaphore counted." });
  const waiters = registry.gauge({ name: "leasegate_queue_waiters", help: "Waiters in line, over every lock." });
  const longest = registry.gauge({ name: "leasegate_queue_longest", help: "The longest line of any lock." });
  const up = registry.gauge({ name: "leasegate_lock_state_up", help: "1 when the last read of the locks' state succeeded, 0 when it failed." });
  for (const status of ["held", "expired", "free"]) locks.labels(status);

  let refreshedAt: number | undefined;
  let pending: Promise<void> | undefined;

  const refresh = async () => {
    const counts = { held: 0, expired: 0, free: 0, holders: 0, waiters: 0, longest: 0 };
    let cursor: string | undefined;
    let seen = 0;
    do {
      const page = await pages(cursor);
      for (const lock of page.items) {
        counts[lock.status]++;
        counts.holders += lock.holders.length;
        counts.waiters += lock.queue.length;
        counts.longest = Math.max(counts.longest, lock.queue.length);
      }
      seen += page.items.length;
      cursor = page.cursor;
    } while (cursor !== undefined && seen < MAX_LOCKS_COUNTED);
    for (const status of ["held", "expired", "free"] as const) locks.labels(status).set(counts[status]);
    holders.labels().set(counts.holders);
    waiters.labels().set(counts.waiters);
    longest.labels().set(counts.longest);
  };

  registry.onCollect(async () => {
    if (refreshedAt !== undefined && now() - refreshedAt < options.maxAgeMs) return;
    // Scrapes at the same moment share one read.
    pending ??= refresh().then(
      () => {
        refreshedAt = now();
        up.labels().set(1);
      },
      () => {
        up.labels().set(0);
      },
    ).finally(() => {
      pending = undefined;
    });
    await pending;
  });
}
