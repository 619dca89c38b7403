import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GrantRecord, LockRecord } from "../../src/locks/lock-record.ts";
import { type GrantClaim, isStoreError, type LockStore } from "../../src/locks/lock-store.ts";
import type { TicketRecord } from "../../src/locks/queue-ticket.ts";

/**
 * What every LockStore must do, whatever it stores locks in. The lock algorithm's unit tests run
 * on the in-memory store; this suite is what makes them mean something for the Kubernetes store.
 */
export interface StoreUnderTest {
  store: LockStore;
  /**
   * Writes the lock the way another Lease client does (client-go's elector, kubectl): only the
   * standard holder fields change; labels and annotations stay as they are. `null` clears the holder.
   */
  writeAsOtherClient(name: string, holder: { holderIdentity: string | null; renewedAt: Date; ttlSeconds: number }): Promise<void>;
}

/** Registers the contract suite; `setup` gives a fresh store (and fresh lock names) per test. */
export function lockStoreContract(setup: () => Promise<StoreUnderTest>): void {
  let subject: StoreUnderTest;
  let store: LockStore;
  let names = 0;
  let name: string;

  beforeEach(async () => {
    subject = await setup();
    store = subject.store;
    name = `contract-${Date.now().toString(36)}-${names++}`;
  });

  const at = (iso: string) => new Date(iso);
  const grant = (overrides: Partial<GrantRecord> = {}): GrantRecord => ({
    subject: "alice",
    issuer: "https://idp.example",
    label: "ci #42 ✓",
    verifier: "verifier-1",
    fencingToken: "17",
    metadata: { run: "42", note: "ünïcode ✓" },
    ...overrides,
  });
  const held = (overrides: Partial<GrantRecord> = {}): LockRecord => {
    const g = grant(overrides);
    return {
      holderIdentity: g.label ? `${g.label} (${g.subject})` : g.subject,
      grant: g,
      ttlSeconds: 30,
      acquiredAt: at("2026-11-30T10:00:00.123Z"),
      renewedAt: at("2026-11-30T10:00:05.456Z"),
      transitions: 3,
    };
  };
  const claimOf = (record: LockRecord): GrantClaim => ({
    holderIdentity: record.holderIdentity!,
    verifier: record.grant!.verifier,
    fencingToken: record.grant!.fencingToken,
  });
  async function failure(promise: Promise<unknown>): Promise<string> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isStoreError(err)) throw new Error(`expected a StoreError, got ${String(err)}`);
    return err.reason;
  }

  describe("get, create and replace", () => {
    it("reads an absent lock as null", async () => {
      expect(await store.get(name)).toBeNull();
    });

    it("reads back every field it wrote, at the revision the write returned", async () => {
      const record = {
        ...held(),
        forcedRelease: { by: "ops", issuer: "https://idp.example", at: at("2026-11-29T08:00:00.000Z") },
        queueMark: "1017-0123456789abcdef0123456789abcdef",
        grantedTicket: "fedcba9876543210fedcba9876543210@1012",
        holds: [
          { holderIdentity: "runner 1 (bob)", grant: grant({ subject: "bob", label: "runner 1", verifier: "v-2", fencingToken: "15" }), ttlSeconds: 20, acquiredAt: at("2026-11-30T09:59:00.001Z"), renewedAt: at("2026-11-30T10:00:01.002Z") },
          { holderIdentity: "carol", grant: grant({ subject: "carol", issuer: undefined, label: undefined, verifier: "v-3", fencingToken: "16", metadata: {} }), ttlSeconds: 40, acquiredAt: at("2026-11-30T09:59:30.000Z"), renewedAt: at("2026-11-30T09:59:30.000Z") },
        ],
      };
      const revision = await store.create(name, record);
      const read = await store.get(name);
      expect(read).toEqual({ record, resourceVersion: revision });
    });

    it("reads a lock without holder as free", async () => {
      const revision = await store.create(name, { ttlSeconds: 30, transitions: 0 });
      expect(await store.get(name)).toEqual({ record: { ttlSeconds: 30, transitions: 0 }, resourceVersion: revision });
    });

    it("refuses a second create with already_exists", async () => {
      await store.create(name, { ttlSeconds: 30, transitions: 0 });
      expect(await failure(store.create(name, held()))).toBe("already_exists");
    });

    it("replaces only at the current revision, with a larger revision", async () => {
      const first = await store.create(name, { ttlSeconds: 30, transitions: 0 });
      const second = await store.replace(name, held(), first);
      expect(BigInt(second)).toBeGreaterThan(BigInt(first));
      expect(await failure(store.replace(name, { ttlSeconds: 30, transitions: 4 }, first))).toBe("conflict");
      expect((await store.get(name))!.resourceVersion).toBe(second);
    });

    it("refuses to replace an absent lock with not_found, never creating it", async () => {
      expect(await failure(store.replace(name, held(), "1"))).toBe("not_found");
      expect(await store.get(name)).toBeNull();
    });
  });

  describe("updateHeld", () => {
    it("renews only renewTime (and ttl when given), never the grant or its fencing token", async () => {
      const record = held();
      await store.create(name, record);
      const renewedAt = at("2026-11-30T10:00:20.789Z");
      const renewed = await store.updateHeld(name, claimOf(record), { kind: "renew", renewedAt, ttlSeconds: 60 });
      expect(renewed.record).toEqual({ ...record, renewedAt, ttlSeconds: 60 });
      expect(await store.get(name)).toEqual(renewed);
      const again = await store.updateHeld(name, claimOf(record), { kind: "renew", renewedAt });
      expect(again.record.ttlSeconds).toBe(60);
    });

    it("renews and releases a grant whose holder has characters Go escapes in JSON (<, >, &)", async () => {
      const record = held({ label: "deploy <b>prod</b> & co", subject: "repo:a&b<c>" });
      record.holderIdentity = "deploy <b>prod</b> & co (repo:a&b<c>)";
      await store.create(name, record);
      const renewedAt = at("2026-11-30T10:00:21.000Z");
      expect((await store.updateHeld(name, claimOf(record), { kind: "renew", renewedAt })).record.renewedAt).toEqual(renewedAt);
      expect((await store.updateHeld(name, claimOf(record), { kind: "release" })).record.holderIdentity).toBeUndefined();
    });

    it("releases: no holder and no grant, the rest kept", async () => {
      const record = held();
      await store.create(name, record);
      const released = await store.updateHeld(name, claimOf(record), { kind: "release" });
      const { holderIdentity: _holder, grant: _grant, ...rest } = record;
      expect(released.record).toEqual(rest);
    });

    it.each([
      ["another verifier", { verifier: "verifier-2" }],
      ["another fencing token (a later grant with the same verifier)", { fencingToken: "18" }],
      ["another holder identity", { holderIdentity: "someone (else)" }],
    ] as const)("changes nothing for %s: precondition_failed", async (_, wrong) => {
      const record = held();
      const revision = await store.create(name, record);
      for (const kind of ["renew", "release"] as const) {
        const change = kind === "renew" ? { kind, renewedAt: new Date() } : { kind };
        expect(await failure(store.updateHeld(name, { ...claimOf(record), ...wrong }, change))).toBe("precondition_failed");
      }
      expect((await store.get(name))!.resourceVersion).toBe(revision);
    });

    it("does not touch a lock another client took over, though the grant's annotations were left in place", async () => {
      const record = held();
      await store.create(name, record);
      const takenAt = at("2026-11-30T10:01:00.000Z");
      await subject.writeAsOtherClient(name, { holderIdentity: "elector-7", renewedAt: takenAt, ttlSeconds: 15 });
      const taken = await store.get(name);
      expect(taken!.record.holderIdentity).toBe("elector-7");
      expect(taken!.record.grant).toBeUndefined();
      expect(taken!.record).toMatchObject({ renewedAt: takenAt, ttlSeconds: 15 });
      expect(await failure(store.updateHeld(name, claimOf(record), { kind: "renew", renewedAt: new Date() }))).toBe("precondition_failed");
      expect(await failure(store.updateHeld(name, claimOf(record), { kind: "release" }))).toBe("precondition_failed");
      expect((await store.get(name))!.resourceVersion).toBe(taken!.resourceVersion);
    });

    it("reads a lock whose holder another client cleared as free, and does not touch it", async () => {
      const record = held();
      await store.create(name, record);
      await subject.writeAsOtherClient(name, { holderIdentity: null, renewedAt: new Date(), ttlSeconds: 1 });
      const cleared = await store.get(name);
      expect(cleared!.record.holderIdentity).toBeUndefined();
      expect(cleared!.record.grant).toBeUndefined();
      expect(await failure(store.updateHeld(name, claimOf(record), { kind: "release" }))).toBe("precondition_failed");
    });

    it("answers not_found for an absent lock", async () => {
      expect(await failure(store.updateHeld(name, claimOf(held()), { kind: "release" }))).toBe("not_found");
    });
  });

  describe("waitForChange", () => {
    /** Every wait a test starts is ended with it, also when the test fails. */
    const waits: AbortController[] = [];
    afterEach(() => {
      for (const wait of waits.splice(0)) wait.abort();
    });
    function waitFrom(revision: string, lock = name): { settled: Promise<"resolved" | string>; abort: () => void } {
      const controller = new AbortController();
      waits.push(controller);
      const settled = store.waitForChange(lock, revision, controller.signal).then(
        () => "resolved",
        (err: unknown) => `rejected: ${isStoreError(err) ? err.reason : String(err)}`,
      );
      return { settled, abort: () => controller.abort() };
    }
    /** How a wait stands after `ms`: "resolved", "rejected: …", or "pending". */
    const after = (ms: number, settled: Promise<string>) =>
      Promise.race([settled, new Promise<string>((resolve) => setTimeout(() => resolve("pending"), ms))]);
    /** A bound far above what a working store needs (milliseconds), far below "never". */
    const PROMPTLY_MS = 5_000;

    it.each([
      ["a replace", (revision: string) => store.replace(name, { ttlSeconds: 30, transitions: 4 }, revision)],
      ["a release", () => store.updateHeld(name, claimOf(held()), { kind: "release" })],
      ["a renewal", () => store.updateHeld(name, claimOf(held()), { kind: "renew", renewedAt: new Date() })],
      ["another Lease client's write", () => subject.writeAsOtherClient(name, { holderIdentity: "elector-7", renewedAt: new Date(), ttlSeconds: 15 })],
    ] as const)("resolves after %s made while it waits", async (what, write) => {
      const revision = await store.create(name, held());
      const wait = waitFrom(revision);
      expect(await after(50, wait.settled)).toBe("pending");

      const sentAt = performance.now();
      await write(revision);
      const answeredAt = performance.now();
      expect(await after(PROMPTLY_MS, wait.settled)).toBe("resolved");
      const wokeAt = performance.now();
      console.info(
        `waitForChange woke ${(wokeAt - sentAt).toFixed(1)} ms after ${what} was sent (answered after ${(answeredAt - sentAt).toFixed(1)} ms)`,
      );
    });

    it("resolves at once when the lock is already past that revision", async () => {
      const first = await store.create(name, held());
      await store.updateHeld(name, claimOf(held()), { kind: "release" });
      expect(await after(PROMPTLY_MS, waitFrom(first).settled)).toBe("resolved");
    });

    it("stays pending while the lock does not change, also when other locks do", async () => {
      const revision = await store.create(name, held());
      const other = await store.create(`${name}-other`, held());
      const wait = waitFrom(revision);
      await store.replace(`${name}-other`, { ttlSeconds: 30, transitions: 0 }, other);
      expect(await after(300, wait.settled)).toBe("pending");
    });

    it("resolves promptly when its signal aborts", async () => {
      const revision = await store.create(name, held());
      const wait = waitFrom(revision);
      expect(await after(100, wait.settled)).toBe("pending");
      const abortedAt = performance.now();
      wait.abort();
      expect(await after(PROMPTLY_MS, wait.settled)).toBe("resolved");
      console.info(`waitForChange resolved ${(performance.now() - abortedAt).toFixed(1)} ms after the abort`);
    });

    it("resolves at once for a signal that is already aborted", async () => {
      const revision = await store.create(name, held());
      const controller = new AbortController();
      controller.abort();
      expect(await after(PROMPTLY_MS, store.waitForChange(name, revision, controller.signal).then(() => "resolved"))).toBe("resolved");
    });
  });

  describe("list", () => {
    it("pages through every lock with continuation tokens", async () => {
      const created = [`${name}-a`, `${name}-b`, `${name}-c`];
      for (const lock of created) await store.create(lock, held());
      const seen: string[] = [];
      let continueToken: string | undefined;
      do {
        const page = await store.list({ limit: 2, continueToken });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((item) => item.name));
        for (const item of page.items) if (created.includes(item.name)) expect(item.record).toEqual(held());
        continueToken = page.continueToken;
      } while (continueToken);
      expect(seen.filter((n) => created.includes(n))).toEqual(created);
    });
  });

  describe("queue tickets", () => {
    let ids = 0;
    const ticketFor = (lock: string, overrides: Partial<TicketRecord> = {}): TicketRecord => ({
      lock,
      id: (ids++).toString(16).padStart(32, "0"),
      holderIdentity: "deploy #7 ✓ (alice)",
      subject: "alice",
      issuer: "https://idp.example",
      label: "deploy #7 ✓",
      order: "1041",
      joinedAt: at("2026-11-30T10:00:00.123Z"),
      renewedAt: at("2026-11-30T10:00:01.456Z"),
      ttlSeconds: 65,
      ...overrides,
    });
    const waits: AbortController[] = [];
    afterEach(() => {
      for (const wait of waits.splice(0)) wait.abort();
    });
    const after = (ms: number, settled: Promise<string>) =>
      Promise.race([settled, new Promise<string>((resolve) => setTimeout(() => resolve("pending"), ms))]);
    function ticketWait(ticket: TicketRecord, revision: string) {
      const controller = new AbortController();
      waits.push(controller);
      return store.waitForTicketChange(ticket.lock, ticket.id, revision, controller.signal).then(() => "resolved");
    }

    it("lists a lock's tickets with every field they were written with, at a revision no older than them", async () => {
      const ticket = ticketFor(name);
      const revision = await store.createTicket(ticket);
      const other = ticketFor(`${name}-other`, { issuer: undefined, label: undefined, holderIdentity: "bob", subject: "bob" });
      await store.createTicket(other);
      const listed = await store.listTickets(name);
      expect(listed.tickets).toEqual([{ ticket, resourceVersion: revision }]);
      expect(BigInt(listed.revision)).toBeGreaterThanOrEqual(BigInt(revision));
      const everywhere = (await store.listTickets()).tickets.map((entry) => entry.ticket);
      expect(everywhere).toEqual(expect.arrayContaining([ticket, other]));
    });

    it("keeps the tickets of locks with long names apart", async () => {
      const long = `${name}-${"x".repeat(70)}`;
      const longer = `${long}y`;
      const ticket = ticketFor(long);
      await store.createTicket(ticket);
      await store.createTicket(ticketFor(longer));
      expect((await store.listTickets(long)).tickets.map((entry) => entry.ticket)).toEqual([ticket]);
    });

    it("never lists a ticket as a lock", async () => {
      await store.create(name, held());
      await store.createTicket(ticketFor(name));
      const names: string[] = [];
      let continueToken: string | undefined;
      do {
        const page = await store.list({ limit: 100, continueToken });
        names.push(...page.items.map((item) => item.name));
        continueToken = page.continueToken;
      } while (continueToken);
      expect(names).toContain(name);
      expect(names.filter((listed) => listed.includes("ticket"))).toEqual([]);
    });

    it("refuses a second ticket of the same id with already_exists", async () => {
      const ticket = ticketFor(name);
      await store.createTicket(ticket);
      expect(await failure(store.createTicket(ticket))).toBe("already_exists");
    });

    it("renews a ticket, and moves it to the back of the line when it joins again", async () => {
      const ticket = ticketFor(name);
      const created = await store.createTicket(ticket);
      const renewedAt = at("2026-11-30T10:00:09.999Z");
      const renewed = await store.renewTicket(name, ticket.id, { renewedAt, ttlSeconds: 15 });
      expect(BigInt(renewed)).toBeGreaterThan(BigInt(created));
      expect((await store.listTickets(name)).tickets).toEqual([{ ticket: { ...ticket, renewedAt, ttlSeconds: 15 }, resourceVersion: renewed }]);
      const rejoin = { order: "2000", joinedAt: at("2026-11-30T10:05:00.000Z") };
      await store.renewTicket(name, ticket.id, { renewedAt: rejoin.joinedAt, ttlSeconds: 20, rejoin });
      expect((await store.listTickets(name)).tickets[0]!.ticket).toEqual({ ...ticket, ...rejoin, renewedAt: rejoin.joinedAt, ttlSeconds: 20 });
      expect(await failure(store.renewTicket(name, ticketFor(name).id, { renewedAt, ttlSeconds: 15 }))).toBe("not_found");
    });

    it("deletes a ticket, only at its revision when one is given", async () => {
      const ticket = ticketFor(name);
      const created = await store.createTicket(ticket);
      const renewed = await store.renewTicket(name, ticket.id, { renewedAt: new Date(), ttlSeconds: 15 });
      expect(await failure(store.deleteTicket(name, ticket.id, created))).toBe("conflict");
      await store.deleteTicket(name, ticket.id, renewed);
      expect((await store.listTickets(name)).tickets).toEqual([]);
      expect(await failure(store.deleteTicket(name, ticket.id))).toBe("not_found");
    });

    it("wakes a ticket's watcher when it is renewed or deleted, and not before", async () => {
      const ticket = ticketFor(name);
      const created = await store.createTicket(ticket);
      const untilRenewed = ticketWait(ticket, created);
      await store.createTicket(ticketFor(name));
      expect(await after(300, untilRenewed)).toBe("pending");
      const renewed = await store.renewTicket(name, ticket.id, { renewedAt: new Date(), ttlSeconds: 15 });
      expect(await after(5000, untilRenewed)).toBe("resolved");
      const untilDeleted = ticketWait(ticket, renewed);
      expect(await after(100, untilDeleted)).toBe("pending");
      await store.deleteTicket(name, ticket.id);
      expect(await after(5000, untilDeleted)).toBe("resolved");
    });
  });
}
