import type { LockRecord, Versioned } from "./lock-record.ts";
import type { TicketList, TicketRecord } from "./queue-ticket.ts";

/**
 * The storage contract the lock algorithm needs: optimistic concurrency on an explicit
 * revision, plus one atomic write conditioned on the grant itself so that renew and release
 * cost a single round trip.
 */
export interface LockStore {
  /** The lock, or null when it has never been created. */
  get(name: string): Promise<Versioned | null>;
  /** Creates the lock; throws `already_exists` when another writer created it first. */
  create(name: string, record: LockRecord): Promise<string>;
  /**
   * Replaces the lock only if it is still at `resourceVersion`; throws `conflict` otherwise, and
   * `not_found` for a lock deleted since it was read: never re-creates it, since a write decided
   * on the old revision (its fencing token included) must not land on a new object.
   */
  replace(name: string, record: LockRecord, resourceVersion: string): Promise<string>;
  /**
   * Applies `change` only while the lock is still held by exactly this grant (holder identity,
   * verifier and fencing token all unchanged), atomically; throws `precondition_failed` when it
   * is not (or `not_found`). The change never touches the grant's fencing token.
   */
  updateHeld(name: string, grant: GrantClaim, change: HeldChange): Promise<Versioned>;
  list(options: ListOptions): Promise<ListPage>;
  /**
   * Resolves once the lock may have changed since `resourceVersion`: a write to it (or its
   * deletion) was seen, or the store can no longer tell (its watch ended); the caller reads again
   * either way. Resolves at once when `signal` aborts, or when the lock is already past that
   * revision. Rejects (`unavailable`, `forbidden`) when it cannot watch at all. One request.
   */
  waitForChange(name: string, resourceVersion: string, signal: AbortSignal): Promise<void>;

  /** The lock's tickets, live or not, or every lock's when `lock` is absent, and the revision read at. */
  listTickets(lock?: string): Promise<TicketList>;
  /** Throws `already_exists` when a ticket of that id exists. */
  createTicket(ticket: TicketRecord): Promise<string>;
  /** Keeps a ticket alive from `renewedAt` for `ttlSeconds` (and moves it to `order` when given); `not_found` when gone. */
  renewTicket(lock: string, id: string, change: TicketRenewal): Promise<string>;
  /** With `resourceVersion`, only if the ticket is unchanged since (else `conflict`); `not_found` when gone. */
  deleteTicket(lock: string, id: string, resourceVersion?: string): Promise<void>;
  /** waitForChange for a ticket: resolves when it changed or went away since `resourceVersion`. */
  waitForTicketChange(lock: string, id: string, resourceVersion: string, signal: AbortSignal): Promise<void>;
}

export interface TicketRenewal {
  renewedAt: Date;
  ttlSeconds: number;
  /** A ticket that was out of line joins again at the back: a new arrival order and joining time. */
  rejoin?: { order: string; joinedAt: Date };
}

/** What identifies one grant, as its lock token proves it. */
export interface GrantClaim {
  holderIdentity: string;
  verifier: string;
  fencingToken: string;
}

export type HeldChange =
  /** Without `ttlSeconds` the grant keeps its current one. */
  | { kind: "renew"; renewedAt: Date; ttlSeconds?: number }
  | { kind: "release" };

export interface ListOptions {
  limit: number;
  continueToken?: string;
}

export interface ListPage {
  items: Array<{ name: string } & Versioned>;
  continueToken?: string;
}

export type StoreFailure =
  | "already_exists"
  | "conflict"
  | "not_found"
  | "precondition_failed"
  /** The lock's storage object exists but this service does not manage it. */
  | "not_managed"
  /** The backend could not be reached or answered with a server error; nothing is known to be written. */
  | "unavailable"
  /** A write was sent but its outcome is unknown (timeout, connection lost). */
  | "unknown_outcome"
  /** The backend refused this service's own credentials. */
  | "forbidden"
  /** A list continuation is too old to resume from. */
  | "cursor_expired"
  /** The backend answered something this service cannot interpret. */
  | "invalid_response";

export class StoreError extends Error {
  readonly reason: StoreFailure;
  /** Operator-facing detail; never shown to callers verbatim when it could hold secrets. */
  readonly detail?: string;
  constructor(reason: StoreFailure, message: string, options?: { detail?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = "StoreError";
    this.reason = reason;
    this.detail = options?.detail;
  }
}

export function isStoreError(err: unknown, reason?: StoreFailure): err is StoreError {
  return err instanceof StoreError && (reason === undefined || err.reason === reason);
}
