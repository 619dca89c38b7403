import type { GatewayClient, Grant } from "./client.ts";
import { describeFailure, isLockLost } from "./failures.ts";
import { backoffMs, formatInstant, monotonicNow } from "./timing.ts";

export interface RenewerOptions {
  client: GatewayClient;
  lock: string;
  /** The lock token (secret). */
  token: string;
  /** The TTL asked for at each renewal (the gateway may cap it). */
  ttlSeconds: number;
  grant: Grant;
  /** Monotonic time the request that produced `grant` was sent. */
  sentAt: number;
  /** Renew at once instead of after ttl/3. */
  renewNow?: boolean;
  /** Called once when the lock is lost; `reason` has no secrets. */
  onLost(reason: string): void;
  /** Progress and warnings for stderr. */
  log(message: string): void;
}

/** Slowest retry of a failed renewal; retries start at a quarter second. */
const MAX_RETRY_MS = 2000;
const MAX_REQUEST_MS = 15_000;

/**
 * Keeps a grant alive: renews about every ttl/3, retries failures quickly, and reports the lock
 * lost when a renewal is refused (lock_lost, not_holder, 404) or when no renewal succeeded
 * before the grant expires. Expiry is measured on the local monotonic clock from the moment the
 * last successful request was *sent*, which is never later than the gateway's renewTime, so
 * clock skew cannot make the CLI believe it holds a lock the gateway already considers expired.
 */
export class Renewer {
  readonly #o: RenewerOptions;
  #grant: Grant;
  #expiresAt: number;
  #timer?: NodeJS.Timeout;
  #expiryTimer?: NodeJS.Timeout;
  #inFlight?: Promise<void>;
  #failures = 0;
  #done = false;
  #renewals = 0;

  constructor(options: RenewerOptions) {
    this.#o = options;
    this.#grant = options.grant;
    this.#expiresAt = options.sentAt + options.grant.ttlSeconds * 1000;
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
    this.#schedule(this.#o.renewNow ? 0 : this.#o.sentAt + this.#interval() - monotonicNow());
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
      this.#lose(`no successful renewal before the grant expired (${formatInstant(this.#grant.expiresAt)})`);
    }, Math.max(0, this.#expiresAt - monotonicNow()));
  }

  async #renew(): Promise<void> {
    if (this.#done) return;
    const sentAt = monotonicNow();
    const left = this.#expiresAt - sentAt;
    try {
      const grant = await this.#o.client.renew(this.#o.lock, this.#o.token, this.#o.ttlSeconds, {
        timeoutMs: Math.min(MAX_REQUEST_MS, Math.max(1000, left)),
      });
      if (this.#done) return;
      if (this.#failures > 0) this.#o.log(`leasegate: renewed ${this.#o.lock} again after ${this.#failures} failed attempt(s)`);
      this.#failures = 0;
      this.#renewals++;
      this.#grant = grant;
      this.#expiresAt = sentAt + grant.ttlSeconds * 1000;
      this.#armExpiry();
      // Counted from when this renewal was sent, so that slow answers do not eat the margin.
      this.#schedule(sentAt + this.#interval() - monotonicNow());
    } catch (err) {
      if (this.#done) return;
      if (isLockLost(err)) {
        this.#lose(`renewal refused: ${describeFailure(err, this.#o.client.credentials.source)}`);
        return;
      }
      this.#failures++;
      if (this.#failures === 1 || this.#failures % 10 === 0) {
        this.#o.log(
          `leasegate: renewing ${this.#o.lock} failed (${describeFailure(err, this.#o.client.credentials.source)}); retrying until the grant expires at ${formatInstant(this.#grant.expiresAt)}`,
        );
      }
      const wait = Math.min(backoffMs(this.#failures - 1, 250, MAX_RETRY_MS), Math.max(0, this.#expiresAt - monotonicNow()));
      this.#schedule(wait);
    }
  }

  #lose(reason: string): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#expiryTimer);
    this.#o.onLost(reason);
  }
}
