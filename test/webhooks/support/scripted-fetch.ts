import type { Clock } from "../../../src/locks/clock.ts";
import type { WebhookFetch } from "../../../src/webhooks/delivery.ts";

/** One request the sender made, with the time of the sender's clock when it was made. */
export interface FetchCall {
  url: string;
  headers: Record<string, string>;
  body: string;
  at: number;
  redirect: RequestRedirect | undefined;
  signal: AbortSignal;
}

/** An answer: a status (with headers), no answer at all (until the request is aborted), or a failed connection. */
export type Reply = number | { status: number; headers?: Record<string, string> } | "no answer" | "connection refused";

/**
 * A fetch that answers as a script says, on a clock the test moves: for back-off and timeouts,
 * where waiting for real seconds would make the tests slow. Its calls are kept for inspection.
 */
export function scriptedFetch(clock: Clock, reply: (call: FetchCall, index: number) => Reply | Promise<Reply>): { fetch: WebhookFetch; calls: FetchCall[] } {
  const calls: FetchCall[] = [];
  const fetch: WebhookFetch = async (url, init) => {
    const call: FetchCall = {
      url,
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: String(init.body),
      at: clock.now().getTime(),
      redirect: init.redirect,
      signal: init.signal!,
    };
    const answer = await reply(call, calls.push(call) - 1);
    if (answer === "connection refused") throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
    if (answer === "no answer") {
      return new Promise<Response>((_, reject) => {
        const aborted = () => reject(new DOMException("This operation was aborted", "AbortError"));
        if (call.signal.aborted) aborted();
        call.signal.addEventListener("abort", aborted, { once: true });
      });
    }
    const { status, headers } = typeof answer === "number" ? { status: answer, headers: undefined } : answer;
    return new Response(status === 204 || status === 304 ? null : "answer body", { status, headers });
  };
  return { fetch, calls };
}

/** Resolves once `condition` holds, checking after every turn of the event loop. */
export async function until(condition: () => boolean, withinMs = 5_000): Promise<void> {
  const deadline = performance.now() + withinMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${withinMs} ms: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
