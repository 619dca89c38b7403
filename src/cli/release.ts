import type { GatewayClient } from "./client.ts";
import { describeFailure, isLockLost, isTransient } from "./failures.ts";
import { backoffMs, sleep } from "./timing.ts";

const ATTEMPTS = 3;
const ATTEMPT_TIMEOUT_MS = 5000;

/**
 * Best-effort release at the end of `run`: a few quick attempts on transient failures, then
 * give up (the grant expires on its own). Reports the outcome on stderr; never throws.
 */
export async function releaseQuietly(client: GatewayClient, lock: string, token: string, log: (line: string) => void): Promise<boolean> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      const { released } = await client.release(lock, token, { timeoutMs: ATTEMPT_TIMEOUT_MS });
      log(released ? `leasegate: released ${lock}` : `leasegate: ${lock} was already released or expired`);
      return released;
    } catch (err) {
      if (isLockLost(err)) {
        log(`leasegate: ${lock} is no longer ours to release (${describeFailure(err, client.credentials.source)})`);
        return false;
      }
      if (!isTransient(err) || attempt === ATTEMPTS - 1) {
        log(`leasegate: could not release ${lock} (${describeFailure(err, client.credentials.source)}); it expires on its own at the end of its TTL`);
        return false;
      }
      await sleep(backoffMs(attempt, 250, 1000));
    }
  }
  return false;
}
