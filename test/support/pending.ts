import { expect, vi } from "vitest";

/** The outcome of a promise that a test lets run in the background, readable at any moment. */
export interface Pending<T> {
  value?: T;
  error?: unknown;
  done: boolean;
}

export function pending<T>(promise: Promise<T>): Pending<T> {
  const seen: Pending<T> = { done: false };
  promise.then(
    (value) => Object.assign(seen, { value, done: true }),
    (error: unknown) => Object.assign(seen, { error, done: true }),
  );
  return seen;
}

/**
 * Lets pending work run: the memory store and a fake clock answer at once, but WebCrypto
 * (verifiers, token MACs, ticket ids) takes real time on another thread.
 */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** Waits until `work` has been answered (or fails the test after a while). */
export const answered = (work: { done: boolean }) => vi.waitFor(() => expect(work.done).toBe(true), { timeout: 5000 });
