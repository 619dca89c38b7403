import { isLockLost, isTransient } from "./failure-kinds.ts";
import type { LeasegateClient } from "./leasegate-client.ts";
import { backoffMs, sleep } from "./timing.ts";

/** How a best-effort release ended. Whatever it says, the grant no longer protects anything. */
export type ReleaseOutcome =
  /** The grant was live, and is released. */
  | { kind: "released" }
  /** The grant was already over (released before, or expired). */
  | { kind: "already-over" }
  /** Another grant holds the lock now (`not_holder`), or the lock is gone. */
  | { kind: "lost"; error: unknown }
  /** The gateway could not be told: the grant expires on its own at the end of its TTL. */
  | { kind: "failed"; error: unknown };

const ATTEMPTS = 3;
const ATTEMPT_TIMEOUT_MS = 5000;

/**
 * Releases a grant at the end of its work: a few quick attempts on transient failures, then gives
 * up (the grant expires on its own). Never rejects: the work is over whatever this says.
 */
export async function releaseGrant(client: LeasegateClient, lock: string, token: string): Promise<ReleaseOutcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { released } = await client.release(lock, token, { timeoutMs: ATTEMPT_TIMEOUT_MS });
      return released ? { kind: "released" } : { kind: "already-over" };
    } catch (err) {
      if (isLockLost(err)) return { kind: "lost", error: err };
      if (!isTransient(err) || attempt === ATTEMPTS - 1) return { kind: "failed", error: err };
      await sleep(backoffMs(attempt, 250, 1000));
    }
  }
}
