/**
 * Event names that sort newest first: `<lock>.<time><random>`, where time counts down (2^53 - 1
 * minus microseconds since the epoch, 14 hex digits). The apiserver lists in name order, so the
 * history of a lock pages newest first straight from storage, without reading it all. Within
 * one process the time never repeats; the random part keeps replicas from choosing one name.
 */
const NAME_LIMIT = 253;
const SUFFIX_LENGTH = 1 + 14 + 4;
let lastMicros = 0;

export function eventName(lock: string, at: Date): string {
  lastMicros = Math.max(at.getTime() * 1000, lastMicros + 1);
  const countdown = (Number.MAX_SAFE_INTEGER - lastMicros).toString(16).padStart(14, "0");
  const random = Array.from(crypto.getRandomValues(new Uint8Array(2)), (byte) => byte.toString(16).padStart(2, "0")).join("");
  // A lock name near the limit loses its end here; the Event's `regarding` still names it whole.
  const prefix = lock.slice(0, NAME_LIMIT - SUFFIX_LENGTH).replace(/[^a-z0-9]+$/, "");
  return `${prefix}.${countdown}${random}`;
}
