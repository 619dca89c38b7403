import type { Grant } from "./api-types.ts";
import { LockContendedError, LockHeldError } from "./errors.ts";
import { isTransient } from "./failure-kinds.ts";
import type { LeasegateClient } from "./leasegate-client.ts";
import { PlaceInLine } from "./place-in-line.ts";
import { releaseGrant, type ReleaseOutcome } from "./release-grant.ts";
import { backoffMs, jitterAbove, monotonicNow, sleep } from "./timing.ts";

/** What a wait reports while it goes on; every hook is optional and must not throw. */
export interface WaitObserver {
  /** Refused for now: the lock is held, or others are ahead in line. The refusal says where the caller stands. */
  refused?(refusal: LockHeldError): void;
  /** A transient failure (gateway unreachable, 503 …); it is retried. */
  retrying?(error: unknown): void;
  /** The place in line could not be given up after the wait; it lapses on its own shortly. */
  leaveFailed?(error: unknown): void;
  /** A grant that landed unseen as the wait was cancelled was collected and released (or not). */
  abandonedGrant?(outcome: ReleaseOutcome): void;
}

export interface AcquireWithinWaitOptions {
  /** The grant's lifetime (default: the gateway's). */
  ttlSeconds?: number;
  holder?: string;
  metadata?: Record<string, string>;
  /** Sent with every attempt: a retry after a lost answer gets the grant that landed, and the place in line is kept. */
  idempotencyKey: string;
  /** How long to keep trying while the lock is held (0: once; Infinity: for ever). */
  waitMs: number;
  /** Aborting it ends the wait at once (a request in flight too); the call then rejects with its reason. */
  signal?: AbortSignal;
  /**
   * The longest single waiting request, in seconds: the first and every later one (default 50
   * each, below common proxy idle timeouts; the gateway caps it at its `maxWaitSeconds`). Shorter
   * rounds only make the refusals, and with them the reports of where the caller stands, more
   * frequent: a round ending costs no fairness.
   */
  pollSeconds?: { first: number; later: number };
  /**
   * Transient failures are retried at least this long (default 10 s), also by a caller that does
   * not wait for the lock: "not acquired" should mean that someone else holds it. Never beyond a
   * minute in a row.
   */
  retryTransientForMs?: number;
  observer?: WaitObserver;
}

export interface Acquired {
  grant: Grant;
  /** Monotonic time (`performance.now()`) the grant is counted from: it lasts its TTL from then. */
  validFrom: number;
  /** `validFrom` is an estimate (the grant ended a wait, or may replay one an unanswered attempt made): renew at once. */
  renewAtOnce: boolean;
  /** Time spent before the grant. */
  waitedMs: number;
}

const DEFAULT_POLL_SECONDS = { first: 50, later: 50 };
const DEFAULT_RETRY_TRANSIENT_FOR_MS = 10_000;
/** How long transient failures are retried in a row, at most. */
const TRANSIENT_BUDGET_MS = 60_000;
/**
 * While in line, transient failures are retried at least this often, well within the time the
 * gateway keeps a place for a waiter that does not call (`queueTicketTtlSeconds`, 15 s by default).
 */
const IN_LINE_RETRY_MAX_MS = 4000;
/** Each clean-up request after a cancelled wait (collecting a grant that may have landed). */
const CLEANUP_TIMEOUT_MS = 5000;
/** How much older than its answer a grant to a waiting request is taken to be, at most (and at most a third of its TTL). */
const GRANT_ANSWER_ALLOWANCE_MS = 1000;

/**
 * Acquires `lock`, waiting up to `waitMs` in the lock's line while someone else holds it or
 * others wait ahead. Every request (but with `waitMs` 0, the single try) waits at the gateway
 * (`waitSeconds`): the gateway answers the moment the lock is granted to this caller, so a
 * hand-over takes one round trip, not a poll interval, and answers "not yet" with the caller's
 * place when the round ends. All requests carry one Idempotency-Key and the last ticket, so the
 * caller keeps its place from one request to the next.
 *
 * Rejects with the last LockHeldError when the wait runs out (LockContendedError if the lock kept
 * changing), with the error that ended it otherwise, and with the signal's reason when cancelled:
 * a waiting request is then ended at once, and since its grant may have landed unseen, one last
 * attempt with the same Idempotency-Key and no wait collects it to release it. Whenever the wait
 * ends without a grant, the place in line is given up, so that those behind move up at once.
 */
export async function acquireWithinWait(client: LeasegateClient, lock: string, options: AcquireWithinWaitOptions): Promise<Acquired> {
  const started = monotonicNow();
  const place = new PlaceInLine(client, lock, options.idempotencyKey);
  let acquired: Omit<Acquired, "waitedMs"> | undefined;
  try {
    acquired = await attempt(client, lock, options, place);
    return { ...acquired, waitedMs: monotonicNow() - started };
  } finally {
    if (!acquired) {
      const problem = await place.leave();
      if (problem !== undefined) options.observer?.leaveFailed?.(problem);
    }
  }
}

async function attempt(client: LeasegateClient, lock: string, options: AcquireWithinWaitOptions, place: PlaceInLine): Promise<Omit<Acquired, "waitedMs">> {
  const { signal, observer } = options;
  const poll = options.pollSeconds ?? DEFAULT_POLL_SECONDS;
  const retryTransientForMs = options.retryTransientForMs ?? DEFAULT_RETRY_TRANSIENT_FOR_MS;
  const deadline = monotonicNow() + options.waitMs;
  const body = { holder: options.holder, ttlSeconds: options.ttlSeconds, metadata: options.metadata };
  let heldAttempts = 0;
  let transientAttempts = 0;
  let transientSince: number | undefined;
  /** Send time of the first attempt since the last definite refusal that got no answer: a grant may have landed then. */
  let unansweredSince: number | undefined;
  let rounds = 0;

  for (;;) {
    signal?.throwIfAborted();
    let delay: number;
    const sentAt = monotonicNow();
    // Whole seconds, rounded up: a wait ends at most a second after waitMs, never before it.
    const waitSeconds = options.waitMs > 0 ? Math.max(1, Math.min(rounds === 0 ? poll.first : poll.later, Math.ceil((deadline - sentAt) / 1000))) : 0;
    try {
      const ticket = waitSeconds > 0 ? place.ticket : undefined;
      const grant = await client.acquire(
        lock,
        { ...body, waitSeconds, ...(ticket && { ticket }) },
        // A single try is short and always finished, so that a grant it makes is never unseen.
        { idempotencyKey: options.idempotencyKey, signal: waitSeconds > 0 ? signal : undefined },
      );
      if (unansweredSince !== undefined) {
        // Maybe the replay of a grant an unanswered attempt made: counted from that attempt.
        return { grant, validFrom: Math.min(sentAt, unansweredSince), renewAtOnce: true };
      }
      if (waitSeconds === 0) return { grant, validFrom: sentAt, renewAtOnce: false };
      // A waiting request is answered the moment it is granted, up to waitSeconds after it was
      // sent: the grant began just before the answer came, not when the request left. Counted
      // from a little before the answer, and renewed at once so that a measured time replaces that.
      const allowance = Math.min(GRANT_ANSWER_ALLOWANCE_MS, (grant.ttlSeconds * 1000) / 3);
      return { grant, validFrom: Math.max(sentAt, monotonicNow() - allowance), renewAtOnce: true };
    } catch (err) {
      if (signal?.aborted && waitSeconds > 0) {
        place.cutOff();
        await collectAndRelease(client, lock, options, body);
        signal.throwIfAborted();
      }
      const now = monotonicNow();
      if (err instanceof LockHeldError) {
        // A definite answer: no grant of this acquisition is live now.
        unansweredSince = undefined;
        transientSince = undefined;
        transientAttempts = 0;
        rounds++;
        if (waitSeconds > 0) place.placed(err.ticket);
        if (now >= deadline) throw err;
        observer?.refused?.(err);
        // After a wait, Retry-After is 0: call again now, in the same place. A gateway that did
        // not wait (its maxWaitSeconds is 0) says when the hold ends.
        const retryAfter = err.retryAfterMs;
        if (retryAfter === 0) {
          // A wait lasts at least a second: an answer that came sooner did not wait, and calling
          // again at once would turn waiting into a busy loop.
          delay = now - sentAt >= 1000 ? 0 : jitterAbove(250);
        } else {
          delay = retryAfter !== undefined ? jitterAbove(retryAfter) : backoffMs(heldAttempts++, 1000, 30_000);
        }
        delay = Math.min(delay, Math.max(0, deadline - now));
      } else if (isTransient(err)) {
        transientSince ??= now;
        // No answer, or a 503 for a write whose outcome the gateway could not learn.
        if (!(err instanceof LockContendedError)) unansweredSince ??= sentAt;
        const giveUpAt = Math.min(Math.max(deadline, transientSince + retryTransientForMs), transientSince + TRANSIENT_BUDGET_MS);
        if (now >= giveUpAt) throw err;
        observer?.retrying?.(err);
        const retryAfter = (err as { retryAfterMs?: number }).retryAfterMs;
        const backoff = backoffMs(transientAttempts++, 500, place.mayHold ? IN_LINE_RETRY_MAX_MS : 10_000);
        delay = Math.min(retryAfter !== undefined ? jitterAbove(retryAfter) : backoff, Math.max(0, giveUpAt - now));
      } else {
        throw err;
      }
    }
    await sleep(delay, signal);
  }
}

/** After a waiting attempt was cut off: releases the grant it may have made (never waits, never rejects). */
async function collectAndRelease(
  client: LeasegateClient,
  lock: string,
  options: AcquireWithinWaitOptions,
  body: { holder?: string; ttlSeconds?: number; metadata?: Record<string, string> },
): Promise<void> {
  let grant: Grant;
  try {
    grant = await client.acquire(lock, body, { idempotencyKey: options.idempotencyKey, timeoutMs: CLEANUP_TIMEOUT_MS });
  } catch {
    return;
  }
  // Released whether or not anyone is told.
  const outcome = await releaseGrant(client, lock, grant.token);
  options.observer?.abandonedGrant?.(outcome);
}
