import { Webhook } from "standardwebhooks";
import type { Caller } from "../../../src/auth/caller.ts";
import type { LockEvent } from "../../../src/locks/lock-events.ts";
import { webhooksConfigSchema } from "../../../src/webhooks/webhook-config.ts";
import { type WebhookDropReason, webhookSink } from "../../../src/webhooks/webhook-sink.ts";
import { FakeClock } from "../../support/fake-clock.ts";
import { type FetchCall, type Reply, scriptedFetch, until } from "./scripted-fetch.ts";
import { newWebhookSecret } from "./webhook-receiver.ts";

const caller: Caller = { issuer: "https://issuer.example", subject: "team-a:alice", claims: {} };

/**
 * A webhook sink as the gateway builds it, with a clock the test moves and a scripted fetch, and
 * everything it reports kept: the requests, the drops (the metric), the log, the background work.
 * The clock starts at the real time, since the reference verifier checks timestamps against it.
 */
export function sinkHarness(endpoints: Array<Record<string, unknown>>, reply: (call: FetchCall, index: number) => Reply | Promise<Reply> = () => 200) {
  const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
  const { fetch, calls } = scriptedFetch(clock, reply);
  const secret = newWebhookSecret();
  const drops: Array<[WebhookDropReason, string]> = [];
  const logs: Array<Record<string, unknown>> = [];
  const background: Array<Promise<unknown>> = [];
  const config = webhooksConfigSchema.parse(endpoints.map((endpoint) => ({ secretEnv: "HOOK_SECRET", ...endpoint })));
  const sink = webhookSink(config, {
    namespace: "leasegate",
    secrets: { HOOK_SECRET: secret },
    fetch,
    clock,
    log: (entry) => logs.push(entry),
    onDropped: (reason, endpoint) => drops.push([reason, endpoint]),
    // No jitter: each back-off is its shortest, half of 1 s, 2 s, 4 s …
    random: () => 0,
  });
  return {
    clock,
    calls,
    drops,
    logs,
    background,
    sink,
    /** Hands events on as the app does after a request. */
    send(...events: LockEvent[]) {
      sink(events, { caller, background: (work) => background.push(work) });
    },
    /** The payload, if the reference library verifies the request with the endpoints' secret (else it throws). */
    verify(call: FetchCall) {
      return new Webhook(secret).verify(call.body, call.headers) as { type: string; timestamp: string; data: Record<string, unknown> };
    },
    /** Resolves once `attempts` requests were made and the sender sleeps before the next (or is done). */
    async asleepAfter(attempts: number) {
      await until(() => calls.length === attempts && clock.sleeping === 1);
    },
    /** Milliseconds of the test clock from the first request to each request. */
    attemptTimes() {
      return calls.map((call) => call.at - calls[0]!.at);
    },
  };
}

/** A lock event as the lock service emits it. */
export function lockEvent(fields: Partial<LockEvent> = {}): LockEvent {
  return { kind: "released", lock: "deploy-prod", at: new Date(), holderIdentity: "laptop (team-a:alice)", subject: "team-a:alice", label: "laptop", fencingToken: "42", heldSeconds: 12.5, ...fields };
}
