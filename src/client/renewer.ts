import type { Grant } from "./api-types.ts";
import { displayText } from "./display-text.ts";
import { LeasegateError, LockLostError } from "./errors.ts";
import { isLockLost } from "./failure-kinds.ts";
import type { LeasegateClient } from "./leasegate-client.ts";
import { backoffMs, monotonicNow } from "./timing.ts";

export interface RenewerOptions {
  client: LeasegateClient;
  lock: string;
  /** The lock token (secret). */
  token: string;
  /** The TTL asked for at each renewal (the gateway may cap it; default: the grant's own). */
  ttlSeconds?: number;
  grant: Grant;
  /** Monotonic time (`performance.now()`) the grant is counted from: it lasts its TTL from then. */
  validFrom: number;
  /** Renew at once instead of after ttl/3 (`validFrom` is an estimate). */
  renewAtOnce?: boolean;
  /** Called once, the moment the grant is known to be over or can no longer be renewed in time. */
  onLost(error: LockLostError): void;
  /** A renewal failed and is retried until the grant expires; `failures` in a row so far. */
  onRenewalFailed?(error: unknown, failures: number): void;
  /** A renewal succeeded after `failures` failed ones. */
  onRecovered?(failures: number): void;
}

/** Slowest retry of a failed renewal; retries start at a quarter second. */
const MAX_RETRY_MS = 2000;
const MAX_REQUEST_MS = 15_000;

/**
 * Keeps a grant alive: renews about every ttl/3, retries failures quickly, and reports the lock
 * lost when a renewal is refused (lock_lost, not_holder, lock_not_found) or when no renewal
 * succeeded before the grant expires. Expiry is measured on the local monotonic clock from the
 * moment the last successful request was *sent*, which is never later than the gateway's
 * renewTime, so clock skew cannot make the holder believe it holds a lock the gateway already
 * considers expired. A timer of its own watches that expiry, so the loss is reported on time
 * even while a renewal request hangs.
 */
export class Renewer {
  readonly #o: RenewerOptions;
  #grant: Grant;
  #expiresAt: number;
  #timer?: ReturnType<typeof setTimeout>;
  #expiryTimer?: ReturnType<typeof setTimeout>;
  #inFlight?: Promise<void>;
  #lastFailure?: unknown;
  #failures = 0;
  #done = false;
  #renewals = 0;

  constructor(options: RenewerOptions) {
    this.#o = options;
    this.#grant = options.grant;
    this.#expiresAt = options.validFrom + options.grant.ttlSeconds * 1000;
  }

  /** The latest grant (its expiresAt moves with every renewal). */
  get grant(): Grant {
    return this.#grant;
  }

  /** Successful renewals so far. */
  get renewals(): number {
    return this.#renewals;
  }

  start(): void {
    this.#armExpiry();
    this.#schedule(this.#o.renewAtOnce ? 0 : this.#o.validFrom + this.#interval() - monotonicNow());
  }

  /** Stops renewing; waits for a renewal in flight so that a release comes after it. */
  async stop(): Promise<void> {
    this.#done = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#expiryTimer);
    await this.#inFlight;
  }

  #interval(): number {
    return Math.max(250, (this.#grant.ttlSeconds * 1000) / 3);
  }

  #schedule(delayMs: number): void {
    if (this.#done) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#inFlight = this.#renew();
    }, Math.max(0, delayMs));
  }

  #armExpiry(): void {
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = setTimeout(() => {
      this.#lose(
        new LockLostError(`no renewal of ${this.#o.lock} succeeded before the grant expired (${displayText(this.#grant.expiresAt)})`, {
          code: "grant_expired",
          cause: this.#lastFailure,
        }),
      );
    }, Math.max(0, this.#expiresAt - monotonicNow()));
  }

  async #renew(): Promise<void> {
    if (this.#done) return;
    const sentAt = monotonicNow();
    const left = this.#expiresAt - sentAt;
    try {
      const grant = await this.#o.client.renew(this.#o.lock, this.#o.token, {
        ttlSeconds: this.#o.ttlSeconds,
        timeoutMs: Math.min(MAX_REQUEST_MS, Math.max(1000, left)),
      });
      if (this.#done) return;
      if (this.#failures > 0) this.#o.onRecovered?.(this.#failures);
      this.#failures = 0;
      this.#lastFailure = undefined;
      this.#renewals++;
      this.#grant = grant;
      this.#expiresAt = sentAt + grant.ttlSeconds * 1000;
      this.#armExpiry();
      // Counted from when this renewal was sent, so that slow answers do not eat the margin.
      this.#schedule(sentAt + this.#interval() - monotonicNow());
    } catch (err) {
      if (this.#done) return;
      if (isLockLost(err)) {
        this.#lose(err instanceof LockLostError ? err : lostBy(err as LeasegateError));
        return;
      }
      this.#failures++;
      this.#lastFailure = err;
      this.#o.onRenewalFailed?.(err, this.#failures);
      const wait = Math.min(backoffMs(this.#failures - 1, 250, MAX_RETRY_MS), Math.max(0, this.#expiresAt - monotonicNow()));
      this.#schedule(wait);
    }
  }

  #lose(error: LockLostError): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#expiryTimer);
    this.#o.onLost(error);
  }
}

/** A refusal that says the lock is gone (404 lock_not_found) as the loss it means. */
function lostBy(err: LeasegateError): LockLostError {
  return new LockLostError(err.message, { status: err.status, code: err.code, problem: err.problem as Record<string, unknown>, retryAfterMs: err.retryAfterMs, cause: err });
}
