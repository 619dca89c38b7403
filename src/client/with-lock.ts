import { acquireWithinWait, type WaitObserver } from "./acquire-within-wait.ts";
import { InvalidRequestError, type LockLostError } from "./errors.ts";
import { HeldLock, type LockContext } from "./held-lock.ts";
import { holderLabel } from "./holder-label.ts";
import { checkedIdempotencyKey, randomIdempotencyKey } from "./idempotency-key.ts";
import type { LeasegateClient } from "./leasegate-client.ts";
import type { ReleaseOutcome } from "./release-grant.ts";

/** What `withLock` reports as it goes; every hook is optional and must not throw. */
export interface LockObserver extends WaitObserver {
  /** A renewal failed; it is retried until the grant would expire. */
  renewalFailed?(error: unknown, failures: number): void;
  /** A renewal succeeded after `failures` failed ones. */
  recovered?(failures: number): void;
  /** The lock was lost while the work ran (the work's signal is aborted at the same moment). */
  lost?(error: LockLostError): void;
  /** How the release at the end went. */
  released?(outcome: ReleaseOutcome): void;
}

export interface WithLockOptions {
  /**
   * The grant's lifetime between renewals, in whole seconds (default: the gateway's
   * `defaultTtlSeconds`, 30 unless configured; it caps it at `maxTtlSeconds`). Renewed every third of it.
   */
  ttlSeconds?: number;
  /**
   * How long to wait in the lock's line while someone else holds it (default 0: try once;
   * Infinity: for ever). Rejects with LockHeldError if the wait ends first.
   */
  waitSeconds?: number;
  /** The label others see while this caller holds the lock (made one printable line of ≤ 128 characters). */
  holder?: string;
  /** String values stored with the grant, shown to those who may read the lock. */
  metadata?: Record<string, string>;
  /**
   * Names this acquisition (default: a random key of its own). A later acquire with the same key
   * by the same identity, while this grant is live, gets this very grant back instead of waiting
   * for it, and a wait with it takes this wait's place in line. Use one that only one logical job
   * has, such as a CI run id or a webhook delivery id.
   */
  idempotencyKey?: string;
  /**
   * Cancels: while waiting, the wait ends at once (withLock rejects with its reason, having left
   * the line); while the work runs, the work's signal is aborted with its reason.
   */
  signal?: AbortSignal;
  /**
   * If the lock was lost while the work ran and the work completed anyway, reject with the
   * LockLostError instead of returning its value (default true): what it did was not protected.
   */
  throwIfLost?: boolean;
  observer?: LockObserver;
}

/**
 * Runs `work` while holding the lock `name`:
 *
 * - acquires for `ttlSeconds`, waiting up to `waitSeconds` in the lock's line (long polls that
 *   the gateway answers the moment the lock is this caller's; transient failures are retried);
 * - renews in the background every ttl/3, and aborts the work's `signal` the moment the lock is
 *   lost or can no longer be renewed before it expires;
 * - always releases at the end, also when `work` throws (whose error is never swallowed);
 * - returns what `work` returned.
 *
 * ```ts
 * const deployed = await withLock(client, "deploy-prod", async ({ fencingToken, signal }) => {
 *   return deploy({ fencingToken, signal });
 * }, { ttlSeconds: 30, waitSeconds: 300 });
 * ```
 */
export async function withLock<T>(client: LeasegateClient, name: string, work: (lock: LockContext) => T | Promise<T>, options: WithLockOptions = {}): Promise<T> {
  const ttlSeconds = options.ttlSeconds;
  if (ttlSeconds !== undefined && (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1)) {
    throw invalid(`ttlSeconds must be a whole number of seconds, at least 1 (got ${ttlSeconds})`);
  }
  const waitSeconds = options.waitSeconds ?? 0;
  if (typeof waitSeconds !== "number" || Number.isNaN(waitSeconds) || waitSeconds < 0) throw invalid(`waitSeconds must be a number of seconds, at least 0 (got ${waitSeconds})`);
  const holder = options.holder === undefined ? undefined : holderLabel(options.holder) || undefined;
  const idempotencyKey = options.idempotencyKey === undefined ? randomIdempotencyKey("leasegate-js") : checkedIdempotencyKey(options.idempotencyKey);
  const observer = options.observer ?? {};

  const acquired = await acquireWithinWait(client, name, {
    ttlSeconds,
    holder,
    metadata: options.metadata,
    idempotencyKey,
    waitMs: waitSeconds * 1000,
    signal: options.signal,
    observer,
  });
  const held = new HeldLock(client, name, acquired, ttlSeconds, options.signal, {
    renewalFailed: observer.renewalFailed?.bind(observer),
    recovered: observer.recovered?.bind(observer),
    lost: observer.lost?.bind(observer),
  });
  if (options.signal?.aborted) {
    // Cancelled while a single try was on its way: the grant it made is given back at once.
    const released = await held.finish();
    observer.released?.(released);
    throw options.signal.reason;
  }
  held.start();
  let value: T;
  try {
    value = await work(held);
  } finally {
    const released = await held.finish();
    observer.released?.(released);
  }
  if (held.lostError && (options.throwIfLost ?? true)) throw held.lostError;
  return value;
}

function invalid(message: string): InvalidRequestError {
  return new InvalidRequestError(message, { code: "invalid_request" });
}
