import type { Clock } from "../../src/locks/clock.ts";

export class FakeClock implements Clock {
  #now: number;
  constructor(start = Date.parse("2026-01-01T00:00:00.000Z")) {
    this.#now = start;
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(seconds: number): void {
    this.#now += seconds * 1000;
  }
}
