import { ConfigError } from "../config/load.ts";
import { toBase64Url } from "../encoding/base64url.ts";
import type { AppDeps, LockEventContext } from "../http/app-env.ts";
import type { Logger } from "../http/errors.ts";
import { type Clock, systemClock } from "../locks/clock.ts";
import type { LockEvent } from "../locks/lock-events.ts";
import { deliver, type DeliveryTools, type WebhookFetch, type WebhookMessage } from "./delivery.ts";
import type { WebhooksConfig } from "./webhook-config.ts";
import { WebhookEndpoint } from "./webhook-endpoint.ts";
import { webhookPayload } from "./webhook-payload.ts";
import { parseWebhookSecrets } from "./webhook-secret.ts";

/**
 * Why a message was not delivered: the endpoint's queue was full when the event happened
 * (`queue_full`), every attempt failed or the time ran out (`gave_up`), or the receiver answered
 * in a way that retrying cannot change, a 4xx or a redirect (`refused`).
 */
export type WebhookDropReason = "queue_full" | "gave_up" | "refused";

export interface WebhookSinkOptions {
  /** The gateway's lock namespace, named in every payload. */
  namespace: string;
  /** The environment: each endpoint's `secretEnv` is read from it once, here. */
  secrets: Record<string, string | undefined>;
  fetch?: WebhookFetch;
  clock?: Clock;
  log?: Logger;
  /** Counts messages that were not delivered (a metric), with the endpoint's name. */
  onDropped?: (reason: WebhookDropReason, endpoint: string) => void;
  /** Jitter for retry back-off, in [0, 1). */
  random?: () => number;
}

type LockEventsHandler = NonNullable<AppDeps["onLockEvents"]>;

/** Takes lock events as the app hands them on; `drain` waits for messages under way (a Node gateway shutting down). */
export type WebhookSink = LockEventsHandler & {
  /** Resolves true once every message under way is settled, or false when `timeoutMs` passed first. */
  drain(timeoutMs: number): Promise<boolean>;
};

/**
 * Sends lock events to the configured endpoints as signed Standard Webhooks, off the request's
 * critical path: the sink returns at once and the deliveries go to the request's `background`
 * (a Worker's waitUntil), with retries, timeouts and a bounded number of messages under way per
 * endpoint. Delivery is best effort: a message is lost when its endpoint's queue is full, when
 * its retries run out, and when the process (or the Worker's request) ends first. A message can
 * also arrive twice (an attempt that timed out may have landed); receivers drop repeats by
 * `webhook-id`.
 *
 * Every delivery belongs to the request that caused it, none waits for another request's work:
 * a Worker may not carry one request's I/O on into another's, and a request's waitUntil then
 * covers exactly its own messages. Messages of one request reach an endpoint in order; messages
 * of concurrent requests may overtake each other (`timestamp` and fencing tokens order them).
 *
 * Throws ConfigError at start-up when an endpoint's secret is missing or malformed.
 */
export function webhookSink(config: WebhooksConfig, options: WebhookSinkOptions): WebhookSink {
  const log = options.log ?? (() => {});
  const clock = options.clock ?? systemClock;
  const tools: DeliveryTools = {
    // Looked up at call time, so that a runtime's fetch (or a test's replacement) is the one used.
    fetch: options.fetch ?? ((url, init) => fetch(url, init)),
    clock,
    random: options.random ?? Math.random,
  };
  const endpoints = config.map((endpoint, index) => {
    const secrets = parseWebhookSecrets(options.secrets[endpoint.secretEnv]);
    if (typeof secrets === "string") {
      throw new ConfigError(`  - LEASEGATE_CONFIG.webhooks.${index}.secretEnv: the variable ${endpoint.secretEnv} ${secrets}`);
    }
    return new WebhookEndpoint(endpoint, secrets);
  });
  const underWay = new Set<Promise<void>>();

  const dropped = (reason: WebhookDropReason, endpoint: WebhookEndpoint) => {
    try {
      options.onDropped?.(reason, endpoint.name);
    } catch {
      // A counter that fails must not stop deliveries.
    }
  };

  /** Delivers one request's messages for one endpoint, one after the other; never rejects. */
  const deliverInOrder = async (endpoint: WebhookEndpoint, messages: Array<{ event: LockEvent; message: WebhookMessage }>, deadline: number) => {
    for (const { event, message } of messages) {
      try {
        const outcome = await deliver({ ...endpoint.config, signer: endpoint.signer }, message, deadline, tools);
        if (!outcome.delivered) {
          dropped(outcome.reason, endpoint);
          log({
            level: "warn",
            msg: "webhook not delivered",
            endpoint: endpoint.name,
            type: `lock.${event.kind}`,
            webhookId: message.id,
            reason: outcome.reason,
            attempts: outcome.attempts,
            status: outcome.status,
            error: outcome.error,
          });
        }
      } catch (err) {
        dropped("gave_up", endpoint);
        log({ level: "error", msg: "webhook delivery failed", endpoint: endpoint.name, webhookId: message.id, error: err instanceof Error ? err.message : String(err) });
      } finally {
        endpoint.settle();
      }
    }
  };

  const sink: LockEventsHandler = (events: LockEvent[], context: LockEventContext) => {
    try {
      const now = clock.now().getTime();
      const messages = new Map<LockEvent, WebhookMessage>();
      const messageOf = (event: LockEvent): WebhookMessage => {
        let message = messages.get(event);
        if (!message) messages.set(event, (message = { id: newMessageId(), body: JSON.stringify(webhookPayload(event, options.namespace)) }));
        return message;
      };
      for (const endpoint of endpoints) {
        const admitted: Array<{ event: LockEvent; message: WebhookMessage }> = [];
        for (const event of events) {
          if (!endpoint.wants(event)) continue;
          const admission = endpoint.admit();
          if (admission.admitted) {
            admitted.push({ event, message: messageOf(event) });
            continue;
          }
          dropped("queue_full", endpoint);
          if (admission.startedOverflowing) {
            log({ level: "warn", msg: "webhook queue full: new messages are dropped until it drains", endpoint: endpoint.name, maxQueued: endpoint.config.maxQueued });
          }
        }
        if (admitted.length === 0) continue;
        const work = deliverInOrder(endpoint, admitted, now + endpoint.config.giveUpAfterSeconds * 1000);
        underWay.add(work);
        void work.finally(() => underWay.delete(work));
        context.background(work);
      }
    } catch (err) {
      log({ level: "error", msg: "lock events could not be turned into webhooks", error: err instanceof Error ? err.message : String(err) });
    }
  };

  const drain = async (timeoutMs: number): Promise<boolean> => {
    const gaveUp = new AbortController();
    const timedOut = clock.sleep(timeoutMs, gaveUp.signal).then(() => false);
    const settled = (async () => {
      while (underWay.size > 0) await Promise.allSettled([...underWay]);
      return true;
    })();
    try {
      return await Promise.race([settled, timedOut]);
    } finally {
      gaveUp.abort();
    }
  };

  return Object.assign(sink, { drain });
}

/** `msg_` and 128 random bits: unique per event, the same on every attempt and at every endpoint. */
function newMessageId(): string {
  return `msg_${toBase64Url(crypto.getRandomValues(new Uint8Array(16)))}`;
}
