/**
 * What happened to a lock, as the algorithm saw it: the stuff of history (Kubernetes Events),
 * metrics and webhooks. Emitted after the write that made it true; never carries a secret.
 */
export type LockEventKind =
  /** A grant of a free lock (or of a free place of a semaphore). */
  | "acquired"
  /** A grant that replaced a hold whose time had run out. */
  | "taken_over"
  | "released"
  | "force_released"
  /** A renewal found its grant gone: released, taken over or force-released meanwhile. */
  | "lost"
  | "queue_joined"
  | "queue_left";

export interface LockEvent {
  kind: LockEventKind;
  lock: string;
  at: Date;
  /** The grant's (or waiter's) holder identity, as the Lease shows it. */
  holderIdentity?: string;
  subject?: string;
  issuer?: string;
  label?: string;
  fencingToken?: string;
  /** How long the grant that ended (or was replaced) had held the lock. */
  heldSeconds?: number;
  /** How long a grant from the line had waited in it. */
  waitedSeconds?: number;
  /** The hold that a takeover or a force release ended. */
  previousHolder?: string;
  /** Who force-released. */
  by?: { subject: string; issuer?: string };
  /** A waiter's place on joining (1 = next). */
  position?: number;
}

/** Takes events as they happen; must return at once and never throw (the lock answer comes first). */
export type LockEventSink = (event: LockEvent) => void;
