import { describe, expect, it } from "vitest";
import { grantedTicketOf, queueView } from "../../src/locks/lock-queue.ts";
import type { LockRecord } from "../../src/locks/lock-record.ts";
import type { TicketRecord, VersionedTicket } from "../../src/locks/queue-ticket.ts";

const NOW = new Date("2026-11-30T12:00:00.000Z");
const SKEW_MS = 2000;
const free: LockRecord = { ttlSeconds: 30, transitions: 0, queueMark: "x" };

function ticket(id: string, order: string, overrides: Partial<TicketRecord> = {}): VersionedTicket {
  return {
    ticket: { lock: "deploy", id, holderIdentity: id, subject: id, order, joinedAt: NOW, renewedAt: NOW, ttlSeconds: 15, ...overrides },
    resourceVersion: "1",
  };
}
const ids = (entries: VersionedTicket[]) => entries.map((entry) => entry.ticket.id);

describe("the order of a lock's line", () => {
  it("is the arrival order (numerically, not as text), ties broken by id, whatever order the store lists them in", () => {
    const listed = [ticket("d", "100"), ticket("b", "99"), ticket("c", "1000"), ticket("a", "100")];
    expect(ids(queueView({ tickets: listed, revision: "1000" }, free, NOW, SKEW_MS).waiting)).toEqual(["b", "a", "d", "c"]);
  });

  it("leaves out tickets whose time and the skew allowance have passed", () => {
    const lapsed = ticket("old", "1", { renewedAt: new Date(NOW.getTime() - 17_001) });
    const justAlive = ticket("edge", "2", { renewedAt: new Date(NOW.getTime() - 17_000) });
    const view = queueView({ tickets: [lapsed, justAlive], revision: "3" }, free, NOW, SKEW_MS);
    expect(ids(view.waiting)).toEqual(["edge"]);
    expect(ids(view.stale)).toEqual(["old"]);
  });

  it("leaves out the ticket the latest grant was made to, but not a later ticket of the same id", () => {
    const granted = ticket("same", "5");
    const lock = { ...free, grantedTicket: grantedTicketOf(granted.ticket) };
    expect(ids(queueView({ tickets: [granted, ticket("b", "6")], revision: "7" }, lock, NOW, SKEW_MS).waiting)).toEqual(["b"]);
    expect(ids(queueView({ tickets: [ticket("same", "9"), ticket("b", "6")], revision: "9" }, lock, NOW, SKEW_MS).waiting)).toEqual(["b", "same"]);
  });

  it("finds the caller's own place", () => {
    const view = queueView({ tickets: [ticket("b", "2"), ticket("a", "1")], revision: "2" }, free, NOW, SKEW_MS, "b");
    expect(view.ownIndex).toBe(1);
    expect(queueView({ tickets: [], revision: "2" }, free, NOW, SKEW_MS, "b").ownIndex).toBe(-1);
  });
});
