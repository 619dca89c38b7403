import { type GatewayClient, GatewayError, type Grant } from "./client.ts";
import { formatDuration } from "./duration.ts";
import { CliError } from "./errors.ts";
import { ExitCode } from "./exit-codes.ts";
import { describeFailure, failure, isTransient } from "./failures.ts";
import { PlaceInLine } from "./place-in-line.ts";
import { describeStanding, type Standing, standingOf } from "./queue-standing.ts";
import { backoffMs, jitterAbove, monotonicNow, sleep } from "./timing.ts";
import { type ProgressStream, WaitProgress } from "./wait-progress.ts";

export interface AcquireWaitOptions {
  client: GatewayClient;
  lock: string;
  ttlSeconds: number;
  holder?: string;
  /** Sent with every attempt, so a retry after a lost answer gets the grant that landed. */
  idempotencyKey: string;
  /** How long to keep trying while the lock is held (0: once; Infinity: forever). */
  waitMs: number;
  /** Where the "waiting for…" progress line goes (stderr). */
  out: ProgressStream;
  /** Names the operation in error messages, e.g. `run deploy-prod`. */
  operation: string;
  /** Aborted when the CLI is interrupted: waiting stops, an attempt in flight is finished. */
  cancel: AbortSignal;
}

/** How long transient failures (gateway unreachable, 503) are retried while waiting. */
const TRANSIENT_BUDGET_MS = 60_000;
/**
 * The first request of a wait waits only this long before the gateway says where in line the
 * caller stands (a free lock is granted at once all the same), so that the progress line shows
 * the place within a second or so.
 */
const FIRST_ROUND_SECONDS = 1;
/**
 * Each later request waits this long at most: the place and holder on the progress line are
 * never older. A request ending costs no fairness: the place is kept, and a release while the
 * next request is on its way is acted on when it arrives. Far below common proxy idle timeouts
 * and the gateway's own cap (`maxWaitSeconds`, 50 s by default).
 */
const ROUND_SECONDS = 10;
/**
 * While in line, transient failures are retried at least this often, well within the time the
 * gateway keeps a place for a waiter that does not call (`queueTicketTtlSeconds`, 15 s by default).
 */
const IN_LINE_RETRY_MAX_MS = 4000;

export interface Acquired {
  grant: Grant;
  /** Monotonic time the grant began at the latest (when the successful attempt was sent, for one that did not wait): it lasts at most ttl from then. */
  sentAt: number;
  /**
   * When the grant began is only estimated (an attempt that waited), or an earlier attempt failed
   * without an answer so this may be the idempotent replay of an older grant: renew it at once.
   */
  renewAtOnce: boolean;
  /** Time spent waiting before the grant. */
  waitedMs: number;
}

/**
 * Acquires the lock, waiting up to `waitMs` in the lock's line while someone else holds it or
 * others wait ahead. Every request (but with `waitMs` 0, the single try) waits at the gateway
 * (`waitSeconds`): the gateway answers the moment the lock is granted to this caller, so a
 * hand-over takes one round trip, not a poll interval, and answers "not yet" with the caller's
 * place when the round ends. All requests carry one Idempotency-Key and the last ticket, so the
 * caller keeps its place from one request to the next.
 *
 * Returns undefined when cancelled before a grant. Cancelling ends a waiting request at once;
 * since its grant may have landed unseen, one last attempt with the same Idempotency-Key and no
 * wait collects it, and a grant obtained that way is returned (the caller releases it). Whenever
 * the wait ends without a grant — cancelled, out of time, failed — the place in line is given
 * up, so that those behind move up at once.
 * Failures come back as CLI errors naming the operation.
 */
export async function acquireWithWait(options: AcquireWaitOptions): Promise<Acquired | undefined> {
  const progress = new WaitProgress(options.out, options.lock, options.waitMs);
  const place = new PlaceInLine(options.client, options.lock, options.idempotencyKey);
  let acquired: Omit<Acquired, "waitedMs"> | undefined;
  try {
    acquired = await attempt(options, progress, place);
    return acquired && { ...acquired, waitedMs: progress.waitedMs };
  } catch (err) {
    throw failure(err, options.operation, options.client.credentials.source);
  } finally {
    progress.stop();
    if (!acquired) {
      const problem = await place.leave();
      if (problem) options.out.write(`leasegate: ${problem}\n`);
    }
  }
}

async function attempt(options: AcquireWaitOptions, progress: WaitProgress, place: PlaceInLine): Promise<Omit<Acquired, "waitedMs"> | undefined> {
  const { client, lock, cancel } = options;
  const deadline = monotonicNow() + options.waitMs;
  let heldAttempts = 0;
  let transientAttempts = 0;
  let transientSince: number | undefined;
  let lastStanding: Standing | undefined;
  let renewAtOnce = false;
  let rounds = 0;

  const body = { holder: options.holder, ttlSeconds: options.ttlSeconds };
  for (;;) {
    if (cancel.aborted) return undefined;
    let delay: number;
    const sentAt = monotonicNow();
    // Whole seconds, rounded up: a wait ends at most a second after --wait, never before it.
    const waitSeconds = options.waitMs > 0 ? Math.max(1, Math.min(rounds === 0 ? FIRST_ROUND_SECONDS : ROUND_SECONDS, Math.ceil((deadline - sentAt) / 1000))) : 0;
    try {
      const ticket = waitSeconds > 0 ? place.ticket : undefined;
      const grant = await client.acquire(lock, { ...body, waitSeconds, ...(ticket && { ticket }) }, { idempotencyKey: options.idempotencyKey, signal: waitSeconds > 0 ? cancel : undefined });
      if (waitSeconds === 0) return { grant, sentAt, renewAtOnce };
      // A waiting request is answered the moment it is granted, up to waitSeconds after it was
      // sent: the grant began just before the answer came, not when the request left. Counted
      // from a little before the answer, and renewed at once so a measured time replaces that.
      const answeredAt = monotonicNow();
      return { grant, sentAt: Math.max(sentAt, answeredAt - Math.min(1000, (grant.ttlSeconds * 1000) / 3)), renewAtOnce: true };
    } catch (err) {
      if (cancel.aborted && waitSeconds > 0) {
        place.cutOff();
        return collectAfterCancel(options, body);
      }
      const now = monotonicNow();
      if (err instanceof GatewayError && err.code === "lock_held") {
        transientSince = undefined;
        transientAttempts = 0;
        rounds++;
        lastStanding = standingOf(err.problem);
        if (waitSeconds > 0) place.placed(err.problem.ticket);
        if (now >= deadline) throw notAcquired(options.waitMs, lastStanding);
        progress.refused(lastStanding);
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
      } else if (isTransient(err)) {
        transientSince ??= now;
        // No answer, or a 503 for a write whose outcome the gateway could not learn.
        if (!(err instanceof GatewayError && err.code === "lock_contended")) renewAtOnce = true;
        if (now >= deadline || now - transientSince >= TRANSIENT_BUDGET_MS) {
          if (err instanceof GatewayError && err.code === "lock_contended") throw notAcquired(options.waitMs, lastStanding);
          throw err;
        }
        progress.retrying(`${describeFailure(err, client.credentials.source)}, retrying`);
        const retryAfter = err instanceof GatewayError ? err.retryAfterMs : undefined;
        const backoff = backoffMs(transientAttempts++, 500, place.mayHold ? IN_LINE_RETRY_MAX_MS : 10_000);
        delay = retryAfter !== undefined ? jitterAbove(retryAfter) : backoff;
      } else {
        throw err;
      }
      delay = Math.min(delay, Math.max(0, deadline - now));
    }
    await sleep(delay, cancel);
  }
}

/** After a waiting attempt was cut off: the grant it may have made, if any (never waits). */
async function collectAfterCancel(
  options: AcquireWaitOptions,
  body: { holder?: string; ttlSeconds: number },
): Promise<Omit<Acquired, "waitedMs"> | undefined> {
  const sentAt = monotonicNow();
  try {
    const grant = await options.client.acquire(options.lock, body, { idempotencyKey: options.idempotencyKey });
    return { grant, sentAt, renewAtOnce: true };
  } catch {
    return undefined;
  }
}

function notAcquired(waitMs: number, standing: Standing | undefined): CliError {
  const within = waitMs > 0 ? ` within --wait ${formatDuration(waitMs)}` : " (--wait 0)";
  return new CliError(ExitCode.notAcquired, `not acquired${within}${standing ? `: ${describeStanding(standing)}` : ""}`);
}
