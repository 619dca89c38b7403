import type { LockStore } from "./lock-store.ts";

/** A view of a store that counts the requests made through it (one per store call). */
export function countingStore(store: LockStore): { store: LockStore; count: () => number } {
  let calls = 0;
  const counted = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A) => {
    calls++;
    return fn(...args);
  };
  return {
    store: {
      get: counted(store.get.bind(store)),
      create: counted(store.create.bind(store)),
      replace: counted(store.replace.bind(store)),
      updateHeld: counted(store.updateHeld.bind(store)),
      list: counted(store.list.bind(store)),
      waitForChange: counted(store.waitForChange.bind(store)),
      listTickets: counted(store.listTickets.bind(store)),
      createTicket: counted(store.createTicket.bind(store)),
      renewTicket: counted(store.renewTicket.bind(store)),
      deleteTicket: counted(store.deleteTicket.bind(store)),
      waitForTicketChange: counted(store.waitForTicketChange.bind(store)),
    },
    count: () => calls,
  };
}
