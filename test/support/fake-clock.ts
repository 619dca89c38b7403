import type { Clock } from "../../src/locks/clock.ts";

/** A clock that moves only when told to; sleepers wake when it passes their time. */
export class FakeClock implements Clock {
  #now: number;
  #sleepers: Array<{ until: number; wake: () => void }> = [];
  constructor(start = Date.parse("2026-01-01T00:00:00.000Z")) {
    this.#now = start;
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(seconds: number): void {
    this.#now += seconds * 1000;
    const due = this.#sleepers.filter((sleeper) => sleeper.until <= this.#now);
    this.#sleepers = this.#sleepers.filter((sleeper) => sleeper.until > this.#now);
    for (const sleeper of due) sleeper.wake();
  }
  /** How many callers are asleep on this clock. */
  get sleeping(): number {
    return this.#sleepers.length;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const sleeper = {
        until: this.#now + ms,
        wake: () => {
          signal?.removeEventListener("abort", abort);
          resolve();
        },
      };
      const abort = () => {
        this.#sleepers = this.#sleepers.filter((other) => other !== sleeper);
        resolve();
      };
      signal?.addEventListener("abort", abort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }
}
