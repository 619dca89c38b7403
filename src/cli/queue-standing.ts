import { formatDuration } from "./duration.ts";
import { describeHolder } from "./failures.ts";
import { formatInstant } from "./instant.ts";

/**
 * What a `lock_held` refusal says: who holds the lock (absent when it is free but others wait
 * for it) and where the caller stands in the lock's line. Every string came from the gateway.
 */
export interface Standing {
  holder?: string;
  subject?: string;
  holderIdentity?: string;
  expiresAt?: string;
  /** The caller's place in line, 1 = next; only after a request that waited in line. */
  position?: number;
  /** How many wait in line. */
  waiters?: number;
}

/** The standing a `lock_held` problem describes; members of the wrong type are left out. */
export function standingOf(problem: Record<string, unknown>): Standing {
  return {
    holder: text(problem.holder),
    subject: text(problem.subject),
    holderIdentity: text(problem.holderIdentity),
    expiresAt: text(problem.expiresAt),
    position: count(problem.position, 1),
    waiters: count(problem.waiters, 0),
  };
}

/** Whether the refusal names a holder: the gateway sends holder fields only while the lock is held. */
export function isHeld(standing: Standing): boolean {
  return Boolean(standing.holder || standing.subject || standing.holderIdentity || standing.expiresAt);
}

/** `1st`, `2nd`, `3rd`, `4th`, `11th`, `12th`, `13th`, `21st`, `102nd`, `111th`. */
export function ordinal(n: number): string {
  const lastTwo = n % 100;
  const suffix = lastTwo >= 11 && lastTwo <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${suffix}`;
}

/**
 * One phrase for the progress line and for "not acquired": the caller's place, then the lock.
 *
 *   `2nd in line; held by deploy #123 (repo:org/app) until 2026-11-24T16:03:11Z`
 *   `3rd in line; free, 2 ahead of you`
 *   `held by deploy #123 (repo:org/app) until 2026-11-24T16:03:11Z` (no place in line: --wait 0)
 *   `free, 2 waiting in line` (no place in line, others wait)
 *   `held by another caller` (a refusal that says nothing more)
 *
 * With `now`, a holder's expiry also says how far off it is (`(in 42s)`, or that it has passed).
 * Everything the gateway sent is escaped for display; numbers are the CLI's own formatting.
 */
export function describeStanding(standing: Standing, now?: number): string {
  const place = standing.position === undefined ? undefined : `${ordinal(standing.position)} in line`;
  return place ? `${place}; ${describeLock(standing, now)}` : describeLock(standing, now);
}

function describeLock(standing: Standing, now: number | undefined): string {
  if (!isHeld(standing)) {
    if (standing.position !== undefined) return standing.position === 1 ? "free, next to take it" : `free, ${standing.position - 1} ahead of you`;
    // A refusal that names neither a holder nor a line: all it says is that the lock is held.
    return standing.waiters ? `free, ${standing.waiters} waiting in line` : "held by another caller";
  }
  const who = describeHolder(standing.holder, standing.subject) || describeHolder(standing.holderIdentity, undefined) || "another caller";
  if (!standing.expiresAt) return `held by ${who}`;
  const until = ` until ${formatInstant(standing.expiresAt)}`;
  if (now === undefined) return `held by ${who}${until}`;
  const left = Date.parse(standing.expiresAt) - now;
  if (Number.isNaN(left)) return `held by ${who}${until}`;
  return `held by ${who}${until} ${left >= 0 ? `(in ${formatDuration(left)})` : "(expired, awaiting takeover)"}`;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** A whole number of at least `min` that the CLI can print as it is; anything else is unknown. */
function count(value: unknown, min: number): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min ? value : undefined;
}
