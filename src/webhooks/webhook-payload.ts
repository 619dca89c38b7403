import type { LockEvent, LockEventKind } from "../locks/lock-events.ts";

/** Every event type a webhook can carry: `lock.` and the kind of lock event. */
export const WEBHOOK_EVENT_TYPES = [
  "lock.acquired",
  "lock.taken_over",
  "lock.released",
  "lock.force_released",
  "lock.lost",
  "lock.queue_joined",
  "lock.queue_left",
] as const satisfies ReadonlyArray<`lock.${LockEventKind}`>;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The JSON body of one webhook, in the shape Standard Webhooks recommends: `type`, `timestamp`, `data`. */
export interface WebhookPayload {
  type: WebhookEventType;
  /** When the event happened (the write that made it true), RFC 3339 in UTC. */
  timestamp: string;
  data: WebhookData;
}

export interface WebhookData {
  lock: string;
  namespace: string;
  /** The grant (or waiter) the event is about; `identity` is the Lease's holderIdentity. */
  holder?: { identity?: string; label?: string; subject?: string; issuer?: string };
  /** The grant's fencing token (decimal string), for every event about one grant. */
  fencingToken?: string;
  /** A force release ends every hold of the lock: several on a semaphore. */
  fencingTokens?: string[];
  /** How long the grant that ended (or was taken over) had held the lock. */
  heldSeconds?: number;
  /** How long a grant from the line had waited in it. */
  waitedSeconds?: number;
  /** Whoever held the lock before a takeover or force release, as the Lease named it. */
  previousHolder?: string;
  /** Who force-released. */
  by?: { subject: string; issuer?: string };
  /** A waiter's place on joining the line (1 = next). */
  position?: number;
}

/**
 * The payload of a lock event, built field by field from an allow-list: whatever the lock service
 * adds to its events later, a lock token or a queue ticket never reaches a receiver unless it is
 * written here.
 */
export function webhookPayload(event: LockEvent, namespace: string): WebhookPayload {
  const holder = compact({ identity: event.holderIdentity, label: event.label, subject: event.subject, issuer: event.issuer });
  const forced = event.kind === "force_released";
  const data: WebhookData = compact({
    lock: event.lock,
    namespace,
    holder: Object.keys(holder).length > 0 ? holder : undefined,
    fencingToken: forced ? undefined : event.fencingToken,
    // The lock service joins the tokens of several holds with ", "; tokens are decimal, so splitting is exact.
    fencingTokens: forced && event.fencingToken ? event.fencingToken.split(/,\s*/) : undefined,
    heldSeconds: milliseconds(event.heldSeconds),
    waitedSeconds: milliseconds(event.waitedSeconds),
    previousHolder: event.previousHolder,
    by: event.by ? compact({ subject: event.by.subject, issuer: event.by.issuer }) : undefined,
    position: event.position,
  });
  return { type: `lock.${event.kind}`, timestamp: event.at.toISOString(), data };
}

/** Seconds to the millisecond: the clocks behind them are no finer, and receivers get short numbers. */
function milliseconds(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : Math.round(seconds * 1000) / 1000;
}

/** Leaves out absent fields, so that a receiver sees a field only when it has a value. */
function compact<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}
