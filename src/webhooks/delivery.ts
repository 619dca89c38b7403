import type { Clock } from "../locks/clock.ts";
import { backoffMs, isRetryableStatus, retryAfterMs } from "./retry-policy.ts";
import type { WebhookSigner } from "./webhook-signature.ts";

export type WebhookFetch = (url: string, init: RequestInit) => Promise<Response>;

/** One signed message on its way to one endpoint. */
export interface WebhookMessage {
  /** `webhook-id`: the same on every attempt, so a receiver can drop a message it already has. */
  id: string;
  body: string;
}

export interface DeliveryTarget {
  url: string;
  signer: WebhookSigner;
  timeoutMs: number;
  maxAttempts: number;
}

export interface DeliveryTools {
  fetch: WebhookFetch;
  clock: Clock;
  random: () => number;
}

export type DeliveryOutcome =
  | { delivered: true; attempts: number; status: number }
  | { delivered: false; reason: "gave_up" | "refused"; attempts: number; status?: number; error?: string };

/** Too little time left for an attempt to be worth making. */
const MIN_ATTEMPT_MS = 250;

/**
 * Sends one message until a receiver takes it (2xx), refuses it for good, or the attempts or the
 * time (until `deadline`, on `clock`) run out. Never throws: the outcome says what happened.
 */
export async function deliver(target: DeliveryTarget, message: WebhookMessage, deadline: number, tools: DeliveryTools): Promise<DeliveryOutcome> {
  let failure: Attempt = { error: "no time left for a first attempt" };
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - tools.clock.now().getTime();
    if (remaining < MIN_ATTEMPT_MS) return { delivered: false, reason: "gave_up", attempts: attempt - 1, ...failure };
    failure = await attemptOnce(target, message, Math.min(target.timeoutMs, remaining), tools);
    if (failure.status !== undefined && failure.status >= 200 && failure.status <= 299) {
      return { delivered: true, attempts: attempt, status: failure.status };
    }
    const { status, error } = failure;
    if (status !== undefined && !isRetryableStatus(status)) return { delivered: false, reason: "refused", attempts: attempt, status, error };
    if (attempt >= target.maxAttempts) return { delivered: false, reason: "gave_up", attempts: attempt, status, error };
    const wait = Math.max(backoffMs(attempt, tools.random), failure.retryAfterMs ?? 0);
    // A wait that ends too late for another attempt only delays the verdict.
    if (tools.clock.now().getTime() + wait + MIN_ATTEMPT_MS > deadline) return { delivered: false, reason: "gave_up", attempts: attempt, status, error };
    await tools.clock.sleep(wait);
  }
}

interface Attempt {
  status?: number;
  error?: string;
  retryAfterMs?: number;
}

async function attemptOnce(target: DeliveryTarget, message: WebhookMessage, timeoutMs: number, tools: DeliveryTools): Promise<Attempt> {
  const timestamp = Math.floor(tools.clock.now().getTime() / 1000);
  const signature = await target.signer.sign(message.id, timestamp, message.body);
  const abort = new AbortController();
  const attemptOver = new AbortController();
  // Timed on the injected clock, and raced rather than trusted to the fetch: an attempt ends at its timeout whatever the transport does.
  const timedOut = tools.clock.sleep(timeoutMs, attemptOver.signal).then((): Attempt => {
    if (!attemptOver.signal.aborted) abort.abort();
    return { error: `no answer within ${timeoutMs} ms` };
  });
  const answered = (async (): Promise<Attempt> => {
    const response = await tools.fetch(target.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "leasegate-webhooks/1",
        "webhook-id": message.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signature,
      },
      body: message.body,
      // A redirect is an answer, never followed: it could point the request anywhere, inside networks too.
      redirect: "manual",
      signal: abort.signal,
    });
    // The answer's body is of no use; reading none frees the connection.
    response.body?.cancel().catch(() => {});
    const status = response.status;
    if (status >= 300 && status <= 399) return { status, error: "the endpoint answered with a redirect, which is never followed" };
    // An opaque redirect (status 0) where the runtime hides it.
    if (status === 0) return { status: 302, error: "the endpoint answered with a redirect, which is never followed" };
    return { status, retryAfterMs: retryAfterMs(response.headers.get("retry-after"), tools.clock.now()) };
  })().catch((err: unknown): Attempt => ({ error: abort.signal.aborted ? `no answer within ${timeoutMs} ms` : errorText(err) }));
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    attemptOver.abort();
  }
}

/** A transport error as one short line: the message and, on Node, the cause's code (ECONNREFUSED …). */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const detail = typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : undefined;
  return detail ? `${err.message} (${detail})` : err.message;
}
