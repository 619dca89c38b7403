import { LockContendedError, LockLostError, LockNotFoundError, UnavailableError } from "./errors.ts";

/** Whether a renew or release refusal means the grant is over: it cannot succeed any more. */
export function isLockLost(err: unknown): boolean {
  return err instanceof LockLostError || err instanceof LockNotFoundError;
}

/**
 * Worth retrying shortly: no answer, the gateway (or its backend, or the credentials' token
 * endpoint) is unavailable for now, or the lock changed on every attempt.
 */
export function isTransient(err: unknown): boolean {
  return err instanceof UnavailableError || err instanceof LockContendedError;
}
