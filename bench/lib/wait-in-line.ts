/**
 * A waiter as the API asks a client to wait: waiting acquires in a row, all with one
 * Idempotency-Key, so that every request keeps the same place in the lock's line, until granted.
 *
 * - 409 `lock_held` after a wait comes with `Retry-After: 0`: call again at once.
 * - 409 `lock_contended` and 503 `backend_unavailable` say when to retry (`Retry-After`): then.
 * - Stopped from outside (the benchmark's window closed), the request in flight is cut off; its
 *   grant may have landed unseen, so one last acquire with the same key and no wait collects it,
 *   and when there is none the place is given up with `POST /locks/{name}/leave`.
 */
import type { GatewayAnswer, GatewayClient } from "./gateway-client.ts";

export interface WaitOutcome {
  /** The grant, unless stopped before one (a grant collected after the stop is here too). */
  grant?: GatewayAnswer;
  /** The grant came from the last acquire after the stop, not from a waiting request. */
  collectedAfterStop: boolean;
  /** Acquire requests sent, the last acquire after a stop included. */
  calls: number;
  /** 409 `lock_held` answers (a wait that ended) the series called again after. */
  waitsEnded: number;
  /** 409 `lock_contended` and 503 answers, retried after their Retry-After. */
  retried: number;
  /** Kubernetes requests the gateway reported for the series (Server-Timing), leave included. */
  kubeRequests: number;
}

export interface WaitOptions {
  key: string;
  waitSeconds: number;
  ttlSeconds: number;
  /** Ends the series: the request in flight is cut off, and the place is collected or given up. */
  stop?: AbortSignal;
  /** Told every answer to a waiting acquire as it arrives. */
  onAnswer?: (answer: GatewayAnswer) => void;
}

export async function waitInLine(client: GatewayClient, lock: string, options: WaitOptions): Promise<WaitOutcome> {
  const outcome: WaitOutcome = { collectedAfterStop: false, calls: 0, waitsEnded: 0, retried: 0, kubeRequests: 0 };
  const counted = (answer: GatewayAnswer) => {
    outcome.kubeRequests += answer.kubeRequests ?? 0;
    return answer;
  };
  for (;;) {
    if (options.stop?.aborted) return giveUp(client, lock, options, outcome);
    let answer: GatewayAnswer;
    try {
      outcome.calls++;
      answer = counted(
        await client.acquireWaiting(lock, { ttlSeconds: options.ttlSeconds, waitSeconds: options.waitSeconds, idempotencyKey: options.key, signal: options.stop }),
      );
    } catch (err) {
      if (options.stop?.aborted) return giveUp(client, lock, options, outcome);
      throw err;
    }
    options.onAnswer?.(answer);
    if (answer.status === 200) return { ...outcome, grant: answer };
    const code = answer.body.code;
    if (answer.status === 409 && code === "lock_held") {
      outcome.waitsEnded++;
      // A gateway that did not wait says when the hold can end; after a wait it says 0.
      if (answer.retryAfterSeconds) await pause(answer.retryAfterSeconds * 1000, options.stop);
      continue;
    }
    if ((answer.status === 409 && code === "lock_contended") || answer.status === 503) {
      outcome.retried++;
      await pause((answer.retryAfterSeconds ?? 1) * 1000 * (1 + Math.random() * 0.2), options.stop);
      continue;
    }
    throw new Error(`waiting acquire of ${lock}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
}

async function giveUp(client: GatewayClient, lock: string, options: WaitOptions, outcome: WaitOutcome): Promise<WaitOutcome> {
  outcome.calls++;
  const last = await client.acquireOnce(lock, options.ttlSeconds, options.key);
  outcome.kubeRequests += last.kubeRequests ?? 0;
  if (last.status === 200) return { ...outcome, grant: last, collectedAfterStop: true };
  const left = await client.leave(lock, options.key);
  outcome.kubeRequests += left.kubeRequests ?? 0;
  return outcome;
}

/** Sleeps `ms`, or less when `stop` aborts. */
function pause(ms: number, stop: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (stop?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      stop?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop?.addEventListener("abort", done, { once: true });
  });
}
