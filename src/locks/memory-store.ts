import { holderIdentityOf } from "./holder-identity.ts";
import type { LockRecord, Versioned } from "./lock-record.ts";
import { type GrantClaim, type HeldChange, type ListOptions, type ListPage, type LockStore, StoreError, type TicketRenewal } from "./lock-store.ts";
import type { TicketList, TicketRecord, VersionedTicket } from "./queue-ticket.ts";

/**
 * An in-memory LockStore with the same optimistic-concurrency contract as the Kubernetes one:
 * a single global revision counter, conditional replace, grant-conditioned updates.
 * For unit tests of the algorithm and for benchmarks of the HTTP layer alone.
 */
export class MemoryStore implements LockStore {
  readonly #locks = new Map<string, Versioned>();
  /** Queue tickets by ticketKey(lock, id). */
  readonly #tickets = new Map<string, VersionedTicket>();
  /** Callers waiting for a change of each lock (by name) or ticket (by ticketKey). */
  readonly #watchers = new Map<string, Set<() => void>>();
  #revision = 0;

  async get(name: string): Promise<Versioned | null> {
    const found = this.#locks.get(name);
    return found ? { record: asRead(found.record), resourceVersion: found.resourceVersion } : null;
  }

  async create(name: string, record: LockRecord): Promise<string> {
    if (this.#locks.has(name)) throw new StoreError("already_exists", `lock ${name} already exists`);
    return this.#put(name, record);
  }

  async replace(name: string, record: LockRecord, resourceVersion: string): Promise<string> {
    const found = this.#locks.get(name);
    if (!found) throw new StoreError("not_found", `lock ${name} does not exist`);
    if (found.resourceVersion !== resourceVersion) throw new StoreError("conflict", `lock ${name} changed since ${resourceVersion}`);
    return this.#put(name, record);
  }

  async updateHeld(name: string, claim: GrantClaim, change: HeldChange): Promise<Versioned> {
    const found = this.#locks.get(name);
    if (!found) throw new StoreError("not_found", `lock ${name} does not exist`);
    const { holderIdentity, grant } = asRead(found.record);
    if (holderIdentity !== claim.holderIdentity || grant?.verifier !== claim.verifier || grant.fencingToken !== claim.fencingToken) {
      throw new StoreError("precondition_failed", `lock ${name} is not held by this grant`);
    }
    const record = clone(found.record);
    if (change.kind === "renew") {
      record.renewedAt = change.renewedAt;
      if (change.ttlSeconds !== undefined) record.ttlSeconds = change.ttlSeconds;
    } else {
      delete record.holderIdentity;
      delete record.grant;
    }
    const resourceVersion = this.#put(name, record);
    return { record: asRead(record), resourceVersion };
  }

  async list(options: ListOptions): Promise<ListPage> {
    const names = [...this.#locks.keys()].sort().filter((n) => !options.continueToken || n > options.continueToken);
    const page = names.slice(0, options.limit);
    return {
      items: page.map((name) => ({ name, record: asRead(this.#locks.get(name)!.record), resourceVersion: this.#locks.get(name)!.resourceVersion })),
      continueToken: names.length > page.length ? page.at(-1) : undefined,
    };
  }

  async waitForChange(name: string, resourceVersion: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#locks.get(name)?.resourceVersion !== resourceVersion) return;
    await this.#watch(name, signal);
  }

  async listTickets(lock?: string): Promise<TicketList> {
    const tickets = [...this.#tickets.values()].filter((entry) => lock === undefined || entry.ticket.lock === lock);
    return { tickets: tickets.map(copyTicket), revision: String(this.#revision) };
  }

  async createTicket(ticket: TicketRecord): Promise<string> {
    const key = ticketKey(ticket.lock, ticket.id);
    if (this.#tickets.has(key)) throw new StoreError("already_exists", `ticket ${ticket.id} already exists`);
    return this.#putTicket(key, ticket);
  }

  async renewTicket(lock: string, id: string, change: TicketRenewal): Promise<string> {
    const key = ticketKey(lock, id);
    const found = this.#tickets.get(key);
    if (!found) throw new StoreError("not_found", `ticket ${id} does not exist`);
    const ticket = { ...found.ticket, renewedAt: change.renewedAt, ttlSeconds: change.ttlSeconds };
    if (change.rejoin) Object.assign(ticket, change.rejoin);
    return this.#putTicket(key, ticket);
  }

  async deleteTicket(lock: string, id: string, resourceVersion?: string): Promise<void> {
    const key = ticketKey(lock, id);
    const found = this.#tickets.get(key);
    if (!found) throw new StoreError("not_found", `ticket ${id} does not exist`);
    if (resourceVersion !== undefined && found.resourceVersion !== resourceVersion) throw new StoreError("conflict", `ticket ${id} changed since ${resourceVersion}`);
    this.#tickets.delete(key);
    this.#revision++;
    this.#wake(key);
  }

  async waitForTicketChange(lock: string, id: string, resourceVersion: string, signal: AbortSignal): Promise<void> {
    const key = ticketKey(lock, id);
    if (signal.aborted || this.#tickets.get(key)?.resourceVersion !== resourceVersion) return;
    await this.#watch(key, signal);
  }

  #watch(key: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        const watchers = this.#watchers.get(key);
        watchers?.delete(wake);
        if (watchers?.size === 0) this.#watchers.delete(key);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      signal.addEventListener("abort", wake, { once: true });
      const watchers = this.#watchers.get(key) ?? new Set();
      watchers.add(wake);
      this.#watchers.set(key, watchers);
    });
  }

  #wake(key: string): void {
    for (const wake of [...(this.#watchers.get(key) ?? [])]) wake();
  }

  #put(name: string, record: LockRecord): string {
    const resourceVersion = String(++this.#revision);
    this.#locks.set(name, { record: clone(record), resourceVersion });
    this.#wake(name);
    return resourceVersion;
  }

  #putTicket(key: string, ticket: TicketRecord): string {
    const resourceVersion = String(++this.#revision);
    this.#tickets.set(key, copyTicket({ ticket, resourceVersion }));
    this.#wake(key);
    return resourceVersion;
  }
}

/** Lock names never contain a newline, so ticket keys never collide with lock names or each other. */
function ticketKey(lock: string, id: string): string {
  return `ticket\n${lock}\n${id}`;
}

function copyTicket(entry: VersionedTicket): VersionedTicket {
  return deepCopy(entry);
}

function clone(record: LockRecord): LockRecord {
  return deepCopy(record);
}

/**
 * A copy sharing nothing with `value`, so that no caller can change what is stored. Records hold
 * only plain objects, arrays, Dates and primitives; this costs a fraction of structuredClone,
 * which serializes, and keeps the store from weighing on benchmarks of the HTTP layer.
 */
function deepCopy<T>(value: T): T {
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) return value.map(deepCopy) as T;
  if (typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) copy[key] = deepCopy(field);
  return copy as T;
}

/**
 * A record as the Kubernetes store reads a Lease back: the grant details count only while the
 * holder identity is still the one written for that grant (another client may have taken the
 * lock over and left them behind).
 */
function asRead(stored: LockRecord): LockRecord {
  const record = clone(stored);
  if (record.grant && record.holderIdentity !== holderIdentityOf(record.grant.subject, record.grant.label)) delete record.grant;
  return record;
}
