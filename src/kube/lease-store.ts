import type { LockRecord, Versioned } from "../locks/lock-record.ts";
import { type GrantClaim, type HeldChange, type ListOptions, type ListPage, type LockStore, StoreError, type TicketRenewal } from "../locks/lock-store.ts";
import type { TicketList, TicketRecord } from "../locks/queue-ticket.ts";
import type { LeaseApi } from "./lease-api.ts";
import { fromLease, heldChangePatch, isManaged, type LeaseObject, MANAGED_BY_LABEL, MANAGED_BY_VALUE, replacePatch, toLease } from "./lease-codec.ts";
import { toStoreError, type Verb } from "./kube-errors.ts";
import { isTicketLease, QUEUE_FOR_LABEL, queueForValue, ticketFromLease, ticketLeaseName, ticketRenewalPatch, ticketToLease } from "./ticket-codec.ts";

/**
 * Locks as Leases in one namespace, and each waiter's queue ticket as a Lease beside its lock's.
 * Each method is exactly one apiserver request.
 */
export class KubeLeaseStore implements LockStore {
  readonly #api: LeaseApi;
  readonly #namespace: string;

  constructor(api: LeaseApi, namespace: string) {
    this.#api = api;
    this.#namespace = namespace;
  }

  async get(name: string): Promise<Versioned | null> {
    try {
      return this.#versioned(await this.#api.readNamespacedLease({ name, namespace: this.#namespace }));
    } catch (err) {
      const failure = this.#failure(err, "get");
      if (failure.reason === "not_found") return null;
      throw failure;
    }
  }

  async create(name: string, record: LockRecord): Promise<string> {
    const body = toLease(name, record);
    return this.#write("create", () => this.#api.createNamespacedLease({ namespace: this.#namespace, body }));
  }

  /** A PATCH whose first operation tests the revision (see replacePatch): it never re-creates a deleted Lease. */
  async replace(name: string, record: LockRecord, resourceVersion: string): Promise<string> {
    const body = replacePatch(name, record, resourceVersion);
    try {
      return this.#resourceVersion(await this.#api.patchNamespacedLease({ name, namespace: this.#namespace, body }));
    } catch (err) {
      const failure = this.#failure(err, "patch");
      // A failed `test` of the revision is what a stale PUT's 409 would have been.
      if (failure.reason === "precondition_failed") throw new StoreError("conflict", "lease changed since it was read", { cause: err });
      throw failure;
    }
  }

  async updateHeld(name: string, claim: GrantClaim, change: HeldChange): Promise<Versioned> {
    try {
      const lease = await this.#api.patchNamespacedLease({ name, namespace: this.#namespace, body: heldChangePatch(claim, change) });
      return this.#versioned(lease);
    } catch (err) {
      throw this.#failure(err, "patch");
    }
  }

  async list(options: ListOptions): Promise<ListPage> {
    try {
      const page = await this.#api.listNamespacedLease({
        namespace: this.#namespace,
        // Queue tickets are Leases of leasegate too, but not locks.
        labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},!${QUEUE_FOR_LABEL}`,
        limit: options.limit,
        continueToken: options.continueToken,
      });
      return {
        items: page.items.map((lease) => ({ name: lease.metadata?.name ?? "", ...this.#versioned(lease) })),
        continueToken: page.metadata?.continue || undefined,
      };
    } catch (err) {
      throw this.#failure(err, "list");
    }
  }

  async waitForChange(name: string, resourceVersion: string, signal: AbortSignal): Promise<void> {
    try {
      await this.#api.watchLease({ namespace: this.#namespace, name, resourceVersion, signal });
    } catch (err) {
      throw this.#failure(err, "watch");
    }
  }

  async listTickets(lock?: string): Promise<TicketList> {
    const selector = lock === undefined ? QUEUE_FOR_LABEL : `${QUEUE_FOR_LABEL}=${await queueForValue(lock)}`;
    try {
      const page = await this.#api.listNamespacedLease({ namespace: this.#namespace, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${selector}` });
      const revision = page.metadata?.resourceVersion;
      if (!revision) throw new StoreError("invalid_response", "the Kubernetes API returned a lease list without resourceVersion");
      const tickets = page.items.flatMap((lease) => {
        const ticket = ticketFromLease(lease);
        // A malformed ticket is no place in line; a digest label shared by another lock's name is not this lock's.
        return ticket && (lock === undefined || ticket.lock === lock) ? [{ ticket, resourceVersion: this.#resourceVersion(lease) }] : [];
      });
      return { tickets, revision };
    } catch (err) {
      throw this.#failure(err, "list");
    }
  }

  async createTicket(ticket: TicketRecord): Promise<string> {
    const body = ticketToLease(ticket, await queueForValue(ticket.lock));
    return this.#write("create", () => this.#api.createNamespacedLease({ namespace: this.#namespace, body }));
  }

  async renewTicket(_lock: string, id: string, change: TicketRenewal): Promise<string> {
    try {
      return this.#resourceVersion(await this.#api.patchNamespacedLease({ name: ticketLeaseName(id), namespace: this.#namespace, body: ticketRenewalPatch(change) }));
    } catch (err) {
      const failure = this.#failure(err, "patch");
      // The Lease of that name is no ticket: there is no ticket to renew.
      if (failure.reason === "precondition_failed") throw new StoreError("not_found", "no such ticket", { cause: err });
      throw failure;
    }
  }

  async deleteTicket(_lock: string, id: string, resourceVersion?: string): Promise<void> {
    const body = resourceVersion === undefined ? undefined : { preconditions: { resourceVersion } };
    try {
      await this.#api.deleteNamespacedLease({ name: ticketLeaseName(id), namespace: this.#namespace, body });
    } catch (err) {
      throw this.#failure(err, "delete");
    }
  }

  async waitForTicketChange(_lock: string, id: string, resourceVersion: string, signal: AbortSignal): Promise<void> {
    await this.waitForChange(ticketLeaseName(id), resourceVersion, signal);
  }

  async #write(verb: Verb, send: () => Promise<LeaseObject>): Promise<string> {
    try {
      return this.#resourceVersion(await send());
    } catch (err) {
      throw this.#failure(err, verb);
    }
  }

  #versioned(lease: LeaseObject): Versioned {
    // Never interpret, let alone overwrite, a Lease some other controller owns.
    if (!isManaged(lease) || isTicketLease(lease)) throw new StoreError("not_managed", `lease ${lease.metadata?.name} is not a lock managed by leasegate`);
    return { record: fromLease(lease), resourceVersion: this.#resourceVersion(lease) };
  }

  #resourceVersion(lease: LeaseObject): string {
    const rv = lease.metadata?.resourceVersion;
    if (!rv) throw new StoreError("invalid_response", "the Kubernetes API returned a lease without resourceVersion");
    return rv;
  }

  #failure(err: unknown, verb: Verb): StoreError {
    return err instanceof StoreError ? err : toStoreError(err, verb, this.#namespace);
  }
}
