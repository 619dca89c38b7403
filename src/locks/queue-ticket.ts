import { toBase64Url } from "../encoding/base64url.ts";

/**
 * A waiter's place in a lock's queue, stored beside the lock (a Lease of its own on Kubernetes)
 * so that every gateway replica sees the same line and none keeps state another needs.
 */
export interface TicketRecord {
  /** The lock this ticket waits for. */
  lock: string;
  /** Derived from the waiter's secret ticket (see ticketId); shows nothing of it. */
  id: string;
  /** The waiter as it would hold the lock: shown as the ticket Lease's holder. */
  holderIdentity: string;
  subject: string;
  issuer?: string;
  label?: string;
  /**
   * Arrival order: one more than the store revision of the queue listing read just before the
   * ticket was made. A waiter that joins after another's ticket exists has read a later revision,
   * so it lines up behind it; ties (joins in the same instant) are broken by `id`.
   */
  order: string;
  joinedAt: Date;
  /** The ticket is alive until `renewedAt + ttlSeconds`; a waiter keeps it alive by asking again. */
  renewedAt: Date;
  ttlSeconds: number;
}

export interface VersionedTicket {
  ticket: TicketRecord;
  resourceVersion: string;
}

export interface TicketList {
  tickets: VersionedTicket[];
  /** The store revision the listing was read at. */
  revision: string;
}

/** What a waiter shows to keep its place: `lgq1.` and 32 random (or key-derived) bytes, base64url. */
export const TICKET_PATTERN = /^lgq1\.[A-Za-z0-9_-]{43}$/;
const TICKET_PREFIX = "lgq1.";

/** The ticket a caller shows, made from a secret (random, or derived from its Idempotency-Key). */
export function ticketFromSecret(secret: string): string {
  return TICKET_PREFIX + secret;
}

/**
 * The stored id of a caller's ticket for one lock. The caller is part of it, so a ticket shown by
 * anyone else names another place (at the back of the line), and the id reveals nothing of the
 * ticket: reading the queue (kubectl included) does not let anyone keep or drop a waiter's place.
 */
export async function ticketId(lockKey: string, caller: string, ticket: string): Promise<string> {
  const input = new TextEncoder().encode(["queue-ticket", lockKey, caller, ticket].join("\n"));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
  return [...digest.subarray(0, 16)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function randomTicket(): string {
  return ticketFromSecret(toBase64Url(crypto.getRandomValues(new Uint8Array(32))));
}

export function ticketExpiresAt(ticket: TicketRecord): Date {
  return new Date(ticket.renewedAt.getTime() + ticket.ttlSeconds * 1000);
}
