/**
 * When a failed webhook is tried again. Exponential back-off with jitter (1 s, 2 s, 4 s … each
 * somewhere between half and all of that, so that gateway replicas that failed together do not
 * retry together), never shorter than a receiver's `Retry-After`.
 */
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;

/** The wait before retry number `retry` (1 = the second attempt); `random` is in [0, 1). */
export function backoffMs(retry: number, random: () => number): number {
  const full = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (retry - 1));
  return Math.round(full / 2 + (full / 2) * random());
}

/**
 * Answers worth trying again: the receiver was busy or broken for a moment (408, 425, 429, 5xx).
 * Any other answer (a 4xx: bad signature, unknown route, 410 Gone; or a redirect, never followed)
 * would be the same next time.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

/** A `Retry-After` header (seconds, or an HTTP date) as milliseconds from `now`; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: Date): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1_000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now.getTime());
}
