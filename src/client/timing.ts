/** Milliseconds on a monotonic clock (immune to wall-clock jumps). */
export const monotonicNow = (): number => performance.now();

/** Resolves after `ms`, or as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Exponential backoff with jitter: base·2^attempt capped at max, then scaled by 50–100 %. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return ceiling * (0.5 + Math.random() * 0.5);
}

/** Delays a retry by up to 20 % (and 250 ms) more than asked, so waiters do not retry in step. */
export function jitterAbove(ms: number): number {
  return ms + ms * 0.2 * Math.random() + 250 * Math.random();
}
