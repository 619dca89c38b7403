/**
 * At most `ratePerSecond` on average, and `burst` at once after a quiet spell: the bound on the
 * Events one gateway process (one isolate on Workers) writes.
 */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(ratePerSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#updatedAt = now();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is there (0: now). */
  msUntilNext(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#ratePerMs);
  }

  /** Takes a token now or within `maxWaitMs`, sleeping until then; false when none comes in time. */
  async takeWithin(maxWaitMs: number, sleep: (ms: number) => Promise<void>): Promise<boolean> {
    if (this.take()) return true;
    const wait = this.msUntilNext();
    if (wait > maxWaitMs) return false;
    await sleep(wait);
    return this.take();
  }

  #refill(): void {
    const now = this.#now();
    // A clock that stepped back adds nothing.
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#ratePerMs);
    this.#updatedAt = now;
  }
}
