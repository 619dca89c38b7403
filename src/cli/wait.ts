import { type Acquired, acquireWithinWait } from "../client/acquire-within-wait.ts";
import { LockContendedError, LockHeldError } from "../client/errors.ts";
import type { LeasegateClient } from "../client/leasegate-client.ts";
import { formatDuration } from "./duration.ts";
import { CliError } from "./errors.ts";
import { ExitCode } from "./exit-codes.ts";
import { describeFailure, failure } from "./failures.ts";
import { describeStanding, type Standing, standingOf } from "./queue-standing.ts";
import { describeRelease } from "./release.ts";
import { type ProgressStream, WaitProgress } from "./wait-progress.ts";

export interface AcquireWaitOptions {
  client: LeasegateClient;
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
 * Acquires the lock as the client's `acquireWithinWait` does (waiting in the lock's line, keeping
 * the place from one request to the next, leaving the line whenever the wait ends without a
 * grant), and shows the caller's place and the holder on stderr meanwhile. The CLI fails at the
 * first transient failure when it does not wait (`--wait 0`): its caller decides about retries.
 *
 * Returns undefined when cancelled before a grant (a grant that landed unseen as the wait was
 * cancelled is released, and the release reported). Failures come back as CLI errors naming
 * the operation.
 */
export async function acquireWithWait(options: AcquireWaitOptions): Promise<Acquired | undefined> {
  const { client, lock, out } = options;
  const source = client.credentials.source;
  const progress = new WaitProgress(out, lock, options.waitMs);
  let lastStanding: Standing | undefined;
  try {
    return await acquireWithinWait(client, lock, {
      ttlSeconds: options.ttlSeconds,
      holder: options.holder,
      idempotencyKey: options.idempotencyKey,
      waitMs: options.waitMs,
      signal: options.cancel,
      pollSeconds: { first: FIRST_ROUND_SECONDS, later: ROUND_SECONDS },
      retryTransientForMs: 0,
      observer: {
        refused(refusal) {
          lastStanding = standingOf(refusal.problem);
          progress.refused(lastStanding);
        },
        retrying(error) {
          progress.retrying(`${describeFailure(error, source)}, retrying`);
        },
        leaveFailed(error) {
          progress.stop();
          out.write(`leasegate: could not leave the line for ${lock} (${describeFailure(error, source)}); the place lapses on its own shortly\n`);
        },
        abandonedGrant(outcome) {
          progress.stop();
          out.write(`${describeRelease(outcome, lock, source)}\n`);
        },
      },
    });
  } catch (err) {
    if (options.cancel.aborted && err === options.cancel.reason) return undefined;
    if (err instanceof LockHeldError) throw failure(notAcquired(options.waitMs, standingOf(err.problem)), options.operation);
    if (err instanceof LockContendedError) throw failure(notAcquired(options.waitMs, lastStanding), options.operation);
    throw failure(err, options.operation, source);
  } finally {
    progress.stop();
  }
}

function notAcquired(waitMs: number, standing: Standing | undefined): CliError {
  const within = waitMs > 0 ? ` within --wait ${formatDuration(waitMs)}` : " (--wait 0)";
  return new CliError(ExitCode.notAcquired, `not acquired${within}${standing ? `: ${describeStanding(standing)}` : ""}`);
}
