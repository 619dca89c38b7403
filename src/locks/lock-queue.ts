import type { LockRecord } from "./lock-record.ts";
import { ticketExpiresAt, type TicketList, type VersionedTicket } from "./queue-ticket.ts";

/** The line for one lock as read at one moment: who waits, in which order, and what is left over. */
export interface QueueView {
  /** Live tickets, first in line first. */
  waiting: VersionedTicket[];
  /** Tickets no longer in line (expired, or already granted): to be deleted by whoever can. */
  stale: VersionedTicket[];
  /** The index of the caller's own ticket in `waiting`, or -1. */
  ownIndex: number;
}

/**
 * Orders a lock's tickets. A ticket is in line while `renewedAt + ttl` plus the skew allowance
 * has not passed (counting a gone waiter a little longer only delays the line, never breaks it),
 * and it is not the ticket the lock's latest grant was made to (whose deletion may lag the grant).
 */
export function queueView(list: TicketList, lock: LockRecord, now: Date, skewMs: number, ownId?: string): QueueView {
  const waiting: VersionedTicket[] = [];
  const stale: VersionedTicket[] = [];
  for (const entry of list.tickets) {
    const granted = lock.grantedTicket !== undefined && lock.grantedTicket === grantedTicketOf(entry.ticket);
    const expired = ticketExpiresAt(entry.ticket).getTime() + skewMs < now.getTime();
    (granted || expired ? stale : waiting).push(entry);
  }
  waiting.sort((a, b) => compareOrder(a.ticket.order, b.ticket.order) || (a.ticket.id < b.ticket.id ? -1 : a.ticket.id > b.ticket.id ? 1 : 0));
  return { waiting, stale, ownIndex: ownId === undefined ? -1 : waiting.findIndex((entry) => entry.ticket.id === ownId) };
}

/**
 * How a grant names the ticket it was made to: id and arrival order, so that a later ticket of the
 * same id (the same Idempotency-Key used again after that grant ended) is a new place in line.
 */
export function grantedTicketOf(ticket: { id: string; order: string }): string {
  return `${ticket.id}@${ticket.order}`;
}

function compareOrder(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}
