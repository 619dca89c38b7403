import { type GatewayClient, GatewayError, type Grant } from "./client.ts";
import { formatDuration } from "./duration.ts";
import { CliError } from "./errors.ts";
import { ExitCode } from "./exit-codes.ts";
import { describeFailure, describeHolder, failure, isTransient } from "./failures.ts";
import { backoffMs, formatInstant, jitterAbove, monotonicNow, sleep } from "./timing.ts";
import { type HeldInfo, type ProgressStream, WaitProgress } from "./wait-progress.ts";

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
 * The longest one request asks the gateway to wait (it may cap it lower): below common proxy
 * idle timeouts. Longer waits are a series of requests.
 */
const LONG_POLL_SECONDS = 50;

export interface Acquired {
  grant: Grant;
  /** Monotonic time the successful attempt was sent: the grant lasts at most ttl from then. */
  sentAt: number;
  /**
   * An earlier attempt failed without an answer, so this may be the idempotent replay of a grant
   * made then, with less time left than its ttl: renew it at once.
   */
  maybeReplayed: boolean;
  /** Time spent waiting before the grant. */
  waitedMs: number;
}

/**
 * Acquires the lock, waiting up to `waitMs` while someone else holds it. Each attempt asks the
 * gateway to wait (`waitSeconds`, up to LONG_POLL_SECONDS): it answers the moment the lock is
 * released to this caller, so the hand-over takes one round trip, not a poll interval. A gateway
 * that answers without waiting is called again after its Retry-After, jittered. Returns undefined
 * when cancelled before a grant. Cancelling ends a waiting attempt at once; since its grant may
 * have landed unseen, one last attempt with the same Idempotency-Key and no wait collects it, and
 * a grant obtained that way is returned (the caller releases it).
 * Failures come back as CLI errors naming the operation.
 */
export async function acquireWithWait(options: AcquireWaitOptions): Promise<Acquired | undefined> {
  const progress = new WaitProgress(options.out, options.lock, options.waitMs);
  try {
    const acquired = await attempt(options, progress);
    return acquired && { ...acquired, waitedMs: progress.waitedMs };
  } catch (err) {
    throw failure(err, options.operation, options.client.credentials.source);
  } finally {
    progress.stop();
  }
}

async function attempt(options: AcquireWaitOptions, progress: WaitProgress): Promise<Omit<Acquired, "waitedMs"> | undefined> {
  const { client, lock, cancel } = options;
  const deadline = monotonicNow() + options.waitMs;
  let heldAttempts = 0;
  let transientAttempts = 0;
  let transientSince: number | undefined;
  let lastHeld: HeldInfo | undefined;
  let maybeReplayed = false;

  const body = { holder: options.holder, ttlSeconds: options.ttlSeconds };
  for (;;) {
    if (cancel.aborted) return undefined;
    let delay: number;
    const sentAt = monotonicNow();
    // The first attempt does not wait: its refusal names the holder for the progress line.
    const waitSeconds = lastHeld ? Math.min(LONG_POLL_SECONDS, Math.max(0, Math.floor((deadline - sentAt) / 1000))) : 0;
    try {
      const grant = await client.acquire(lock, { ...body, waitSeconds }, { idempotencyKey: options.idempotencyKey, signal: waitSeconds > 0 ? cancel : undefined });
      return { grant, sentAt, maybeReplayed };
    } catch (err) {
      if (cancel.aborted && waitSeconds > 0) return collectAfterCancel(options, body);
      const now = monotonicNow();
      if (err instanceof GatewayError && err.code === "lock_held") {
        transientSince = undefined;
        transientAttempts = 0;
        lastHeld = {
          holder: stringOrUndefined(err.problem.holder),
          subject: stringOrUndefined(err.problem.subject),
          expiresAt: stringOrUndefined(err.problem.expiresAt),
        };
        if (now >= deadline) throw notAcquired(options.waitMs, lastHeld);
        progress.held(lastHeld);
        if (waitSeconds === 0 && deadline - now >= 1000) {
          // That attempt only asked who holds the lock: the next one waits at the gateway.
          delay = 0;
        } else {
          // After a wait, Retry-After is 0 (call again now); a gateway that did not wait says when the hold ends.
          delay = err.retryAfterMs !== undefined ? jitterAbove(err.retryAfterMs) : backoffMs(heldAttempts++, 1000, 30_000);
        }
      } else if (isTransient(err)) {
        transientSince ??= now;
        // No answer, or a 503 for a write whose outcome the gateway could not learn.
        if (!(err instanceof GatewayError && err.code === "lock_contended")) maybeReplayed = true;
        if (now >= deadline || now - transientSince >= TRANSIENT_BUDGET_MS) {
          if (err instanceof GatewayError && err.code === "lock_contended") throw notAcquired(options.waitMs, lastHeld);
          throw err;
        }
        progress.retrying(`${describeFailure(err, client.credentials.source)}, retrying`);
        const retryAfter = err instanceof GatewayError ? err.retryAfterMs : undefined;
        delay = retryAfter !== undefined ? jitterAbove(retryAfter) : backoffMs(transientAttempts++, 500, 10_000);
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
    return { grant, sentAt, maybeReplayed: true };
  } catch {
    return undefined;
  }
}

function notAcquired(waitMs: number, held: HeldInfo | undefined): CliError {
  const who = held ? describeHolder(held.holder, held.subject) : "";
  const by = who ? `: held by ${who}${held?.expiresAt ? ` until ${formatInstant(held.expiresAt)}` : ""}` : "";
  const within = waitMs > 0 ? ` within --wait ${formatDuration(waitMs)}` : " (--wait 0)";
  return new CliError(ExitCode.notAcquired, `not acquired${within}${by}`);
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
