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
 * Acquires the lock, waiting up to `waitMs` while someone else holds it: the next attempt
 * comes after the gateway's Retry-After (when the current grant ends), jittered, and the final
 * one at the deadline. Returns undefined when cancelled before a grant; a grant obtained by an
 * attempt that was in flight when cancelled is still returned (the caller releases it).
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

  for (;;) {
    if (cancel.aborted) return undefined;
    let delay: number;
    const sentAt = monotonicNow();
    try {
      const grant = await client.acquire(lock, { holder: options.holder, ttlSeconds: options.ttlSeconds }, { idempotencyKey: options.idempotencyKey });
      return { grant, sentAt, maybeReplayed };
    } catch (err) {
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
        delay = err.retryAfterMs !== undefined ? jitterAbove(err.retryAfterMs) : backoffMs(heldAttempts++, 1000, 30_000);
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

function notAcquired(waitMs: number, held: HeldInfo | undefined): CliError {
  const who = held ? describeHolder(held.holder, held.subject) : "";
  const by = who ? `: held by ${who}${held?.expiresAt ? ` until ${formatInstant(held.expiresAt)}` : ""}` : "";
  const within = waitMs > 0 ? ` within --wait ${formatDuration(waitMs)}` : " (--wait 0)";
  return new CliError(ExitCode.notAcquired, `not acquired${within}${by}`);
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
