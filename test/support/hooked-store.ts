import type { LockRecord } from "../../src/locks/lock-record.ts";
import type { GrantClaim, HeldChange, ListOptions, LockStore, TicketRenewal } from "../../src/locks/lock-store.ts";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import type { TicketRecord } from "../../src/locks/queue-ticket.ts";

type Op =
  | "get"
  | "create"
  | "replace"
  | "updateHeld"
  | "list"
  | "waitForChange"
  | "listTickets"
  | "createTicket"
  | "renewTicket"
  | "deleteTicket"
  | "waitForTicketChange";
type Hook = (inner: MemoryStore) => Promise<void> | void;

/**
 * A MemoryStore whose calls can be intercepted once: to let a rival write first, to fail, or to
 * apply a write and then report its outcome as unknown.
 */
export class HookedStore implements LockStore {
  readonly inner = new MemoryStore();
  readonly calls: Op[] = [];
  #before = new Map<Op, Hook[]>();
  #after = new Map<Op, Array<() => never>>();

  /** Runs `hook` before the next call of `op` reaches the store. */
  beforeNext(op: Op, hook: Hook): void {
    this.#before.set(op, [...(this.#before.get(op) ?? []), hook]);
  }

  /** Lets the next call of `op` reach the store, then throws `error` instead of answering. */
  failAfterNext(op: Op, error: Error): void {
    this.#after.set(op, [...(this.#after.get(op) ?? []), () => { throw error; }]);
  }

  async #run<T>(op: Op, call: () => Promise<T>): Promise<T> {
    this.calls.push(op);
    const hook = this.#before.get(op)?.shift();
    if (hook) await hook(this.inner);
    const result = await call();
    const after = this.#after.get(op)?.shift();
    if (after) after();
    return result;
  }

  get(name: string) {
    return this.#run("get", () => this.inner.get(name));
  }
  create(name: string, record: LockRecord) {
    return this.#run("create", () => this.inner.create(name, record));
  }
  replace(name: string, record: LockRecord, resourceVersion: string) {
    return this.#run("replace", () => this.inner.replace(name, record, resourceVersion));
  }
  updateHeld(name: string, claim: GrantClaim, change: HeldChange) {
    return this.#run("updateHeld", () => this.inner.updateHeld(name, claim, change));
  }
  list(options: ListOptions) {
    return this.#run("list", () => this.inner.list(options));
  }
  waitForChange(name: string, resourceVersion: string, signal: AbortSignal) {
    return this.#run("waitForChange", () => this.inner.waitForChange(name, resourceVersion, signal));
  }
  listTickets(lock?: string) {
    return this.#run("listTickets", () => this.inner.listTickets(lock));
  }
  createTicket(ticket: TicketRecord) {
    return this.#run("createTicket", () => this.inner.createTicket(ticket));
  }
  renewTicket(lock: string, id: string, change: TicketRenewal) {
    return this.#run("renewTicket", () => this.inner.renewTicket(lock, id, change));
  }
  deleteTicket(lock: string, id: string, resourceVersion?: string) {
    return this.#run("deleteTicket", () => this.inner.deleteTicket(lock, id, resourceVersion));
  }
  waitForTicketChange(lock: string, id: string, resourceVersion: string, signal: AbortSignal) {
    return this.#run("waitForTicketChange", () => this.inner.waitForTicketChange(lock, id, resourceVersion, signal));
  }
}
