import type { LockStore } from "./lock-store.ts";

/** A view of a store that counts the requests made through it (one per store call). Made for every request: one object, no closures. */
export class CountingStore implements LockStore {
  readonly #store: LockStore;
  #calls = 0;

  constructor(store: LockStore) {
    this.#store = store;
  }

  /** The store calls made through this view so far. */
  get calls(): number {
    return this.#calls;
  }

  get(...args: Parameters<LockStore["get"]>) {
    this.#calls++;
    return this.#store.get(...args);
  }
  create(...args: Parameters<LockStore["create"]>) {
    this.#calls++;
    return this.#store.create(...args);
  }
  replace(...args: Parameters<LockStore["replace"]>) {
    this.#calls++;
    return this.#store.replace(...args);
  }
  updateHeld(...args: Parameters<LockStore["updateHeld"]>) {
    this.#calls++;
    return this.#store.updateHeld(...args);
  }
  list(...args: Parameters<LockStore["list"]>) {
    this.#calls++;
    return this.#store.list(...args);
  }
  waitForChange(...args: Parameters<LockStore["waitForChange"]>) {
    this.#calls++;
    return this.#store.waitForChange(...args);
  }
  listTickets(...args: Parameters<LockStore["listTickets"]>) {
    this.#calls++;
    return this.#store.listTickets(...args);
  }
  createTicket(...args: Parameters<LockStore["createTicket"]>) {
    this.#calls++;
    return this.#store.createTicket(...args);
  }
  renewTicket(...args: Parameters<LockStore["renewTicket"]>) {
    this.#calls++;
    return this.#store.renewTicket(...args);
  }
  deleteTicket(...args: Parameters<LockStore["deleteTicket"]>) {
    this.#calls++;
    return this.#store.deleteTicket(...args);
  }
  waitForTicketChange(...args: Parameters<LockStore["waitForTicketChange"]>) {
    this.#calls++;
    return this.#store.waitForTicketChange(...args);
  }
}
