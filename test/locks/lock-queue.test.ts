import { beforeEach, describe, expect, it, vi } from "vitest";
import { ListCursors } from "../../src/locks/list-cursor.ts";
import { LockError } from "../../src/locks/lock-errors.ts";
import { StoreError } from "../../src/locks/lock-store.ts";
import { type AcquireRequest, type Grant, LockService } from "../../src/locks/lock-service.ts";
import { TokenKeys } from "../../src/locks/lock-token.ts";
import { TICKET_PATTERN } from "../../src/locks/queue-ticket.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { HookedStore } from "../support/hooked-store.ts";
import { answered, type Pending, pending, settle } from "../support/pending.ts";

const SKEW = 2;
const TICKET_TTL = 15;
let store: HookedStore;
let clock: FakeClock;
let locks: LockService;

const request = (overrides: Partial<AcquireRequest> = {}): AcquireRequest => ({
  name: "deploy",
  subject: "alice",
  issuer: "https://idp",
  ttlSeconds: 600,
  metadata: {},
  ...overrides,
});
/** A waiting acquire, as the HTTP API sends one: up to `waitMs`, then 409 with a place in line. */
const wait = (subject: string, overrides: Partial<AcquireRequest> = {}) => pending(locks.acquire(request({ subject, waitMs: 50_000, ...overrides })));
const asleep = (sleepers = 1) => vi.waitFor(() => expect(clock.sleeping).toBeGreaterThanOrEqual(sleepers), { timeout: 5000 });
const waiting = async () => (await store.inner.listTickets("deploy")).tickets.length;
/** Until `count` tickets exist and the last one's mark is on the lock: those waiters have joined the line. */
const joined = async (count: number) => {
  await vi.waitFor(async () => expect(await waiting()).toBe(count), { timeout: 5000 });
  await settle();
};
const refusal = (waiter: Pending<unknown>) => {
  expect(waiter.error).toBeInstanceOf(LockError);
  return waiter.error as LockError;
};
const grantOf = (waiter: Pending<Grant>) => {
  expect(waiter.error).toBeUndefined();
  return waiter.value!;
};

beforeEach(async () => {
  store = new HookedStore();
  clock = new FakeClock();
  const rawKey = crypto.getRandomValues(new Uint8Array(32));
  locks = new LockService({
    store,
    clock,
    tokens: await TokenKeys.import([rawKey]),
    cursors: await ListCursors.import([rawKey]),
    namespace: "ns",
    skewAllowanceSeconds: SKEW,
    ticketTtlSeconds: TICKET_TTL,
  });
});

describe("the queue of a lock", () => {
  it("grants waiters in the order they arrived", async () => {
    let held = await locks.acquire(request());
    const arrivals = ["w1", "w2", "w3", "w4"].map((subject, index) => ({ subject, index, waiter: undefined as Pending<Grant> | undefined }));
    for (const arrival of arrivals) {
      arrival.waiter = wait(arrival.subject);
      await joined(arrival.index + 1);
    }
    const order: string[] = [];
    for (let round = 0; round < arrivals.length; round++) {
      await locks.release("deploy", held.token);
      const next = arrivals[round]!;
      await answered(next.waiter!);
      held = grantOf(next.waiter!);
      order.push(held.subject);
      await settle();
      // Nobody behind it was granted as well.
      expect(arrivals.filter((a) => a.waiter!.done)).toHaveLength(round + 1);
    }
    expect(order).toEqual(["w1", "w2", "w3", "w4"]);
    expect(await waiting()).toBe(0);
    expect((await store.inner.get("deploy"))!.record.queueMark).toBeUndefined();
  });

  it("tells a waiter whose wait ended its place, the line's length and the ticket that keeps its place", async () => {
    await locks.acquire(request({ label: "deploy #1" }));
    const first = wait("w1", { waitMs: 5000 });
    await joined(1);
    const second = wait("w2", { waitMs: 5000 });
    await joined(2);
    await asleep(2);
    clock.advance(5);
    await answered(first);
    await answered(second);
    const err = refusal(second);
    expect(err).toMatchObject({ reason: "held", retryAfterSeconds: 0, queue: { position: 2, waiters: 2 }, heldBy: { holder: "deploy #1" } });
    expect(err.queue!.ticket).toMatch(TICKET_PATTERN);
    expect(refusal(first).queue).toMatchObject({ position: 1, waiters: 2 });
  });

  it("keeps a waiter's place when it calls again with its ticket, or with the same Idempotency-Key", async () => {
    const held = await locks.acquire(request());
    const byTicket = wait("w1", { waitMs: 1000 });
    await joined(1);
    const byKey = wait("w2", { waitMs: 1000, idempotencyKey: "run-7" });
    await joined(2);
    await asleep(2);
    clock.advance(1);
    await answered(byTicket);
    await answered(byKey);
    // A later arrival lines up behind both.
    const late = wait("w3");
    await joined(3);
    clock.advance(10);
    const again = wait("w1", { ticket: refusal(byTicket).queue!.ticket });
    const againByKey = wait("w2", { idempotencyKey: "run-7" });
    await settle();
    expect(await waiting()).toBe(3);
    await locks.release("deploy", held.token);
    await answered(again);
    expect(grantOf(again).subject).toBe("w1");
    await locks.release("deploy", grantOf(again).token);
    await answered(againByKey);
    expect(grantOf(againByKey).subject).toBe("w2");
    expect(late.done).toBe(false);
  });

  it("lets no caller without a place take a free lock that others wait for", async () => {
    const held = await locks.acquire(request({ ttlSeconds: 600 }));
    const first = wait("w1", { waitMs: 1000 });
    await joined(1);
    await asleep();
    clock.advance(1);
    await answered(first);
    // The holder releases while the only waiter is between two requests.
    await locks.release("deploy", held.token);
    const err = await locks.acquire(request({ subject: "newcomer" })).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "held", heldBy: undefined, queue: { waiters: 1 }, retryAfterSeconds: 1 });
    expect((err as LockError).queue!.position).toBeUndefined();
    const back = wait("w1", { ticket: refusal(first).queue!.ticket });
    await answered(back);
    expect(grantOf(back).subject).toBe("w1");
  });

  it("drops a waiter that stopped calling once its ticket's time is up, and the next in line takes over", async () => {
    const held = await locks.acquire(request());
    const gone = wait("gone", { waitMs: 1000 });
    await joined(1);
    const patient = wait("patient");
    await joined(2);
    await asleep(2);
    clock.advance(1);
    await answered(gone);
    await locks.release("deploy", held.token);
    await settle();
    expect(patient.done).toBe(false);
    // The first in line never comes back: the next takes over when its ticket (and the skew allowance) has passed.
    clock.advance(TICKET_TTL + SKEW - 0.5);
    await settle();
    expect(patient.done).toBe(false);
    clock.advance(0.6);
    await answered(patient);
    expect(grantOf(patient).subject).toBe("patient");
    // The lapsed ticket was cleaned up by the grant.
    expect(await waiting()).toBe(0);
  });

  it("leaves no ticket behind when a waiter that joined in an earlier request is granted a lock nobody marked", async () => {
    const held = await locks.acquire(request());
    // The waiter's first request makes its ticket, but the mark on the lock fails (a backend that
    // stumbled): the request is answered 503 and the lock does not say that anyone waits.
    store.beforeNext("replace", () => {
      throw new StoreError("unavailable", "the apiserver stumbled");
    });
    const first = wait("w1", { idempotencyKey: "deploy-42" });
    await answered(first);
    expect(refusal(first).reason).toBe("backend_unavailable");
    expect(await waiting()).toBe(1);
    await locks.release("deploy", held.token);
    // Called again with the same key, it finds the lock free and unmarked: granted at once.
    const again = await locks.acquire(request({ subject: "w1", waitMs: 50_000, idempotencyKey: "deploy-42" }));
    // Its ticket must not stay in line: it would stand first, for a waiter who is gone.
    expect(await waiting()).toBe(0);
    const next = wait("w2");
    await joined(1);
    await locks.release("deploy", again.token);
    await answered(next);
    expect(grantOf(next).subject).toBe("w2");
  });

  it("lets a waiter leave, and the next in line is granted at once", async () => {
    const held = await locks.acquire(request());
    const leaving = wait("leaving", { waitMs: 1000, idempotencyKey: "k1" });
    await joined(1);
    const next = wait("next");
    await joined(2);
    await asleep(2);
    clock.advance(1);
    await answered(leaving);
    await locks.release("deploy", held.token);
    expect(await locks.leave({ name: "deploy", subject: "leaving", issuer: "https://idp", idempotencyKey: "k1" })).toEqual({ left: true });
    await answered(next);
    expect(grantOf(next).subject).toBe("next");
    expect(await locks.leave({ name: "deploy", subject: "leaving", issuer: "https://idp", idempotencyKey: "k1" })).toEqual({ left: false });
  });

  it("gives another caller who shows a ticket a new place at the back, never the ticket owner's", async () => {
    const held = await locks.acquire(request());
    const owner = wait("owner", { waitMs: 1000 });
    await joined(1);
    await asleep();
    clock.advance(1);
    await answered(owner);
    const thief = wait("thief", { ticket: refusal(owner).queue!.ticket });
    await joined(2);
    await locks.release("deploy", held.token);
    await settle();
    expect(thief.done).toBe(false);
    const back = wait("owner", { ticket: refusal(owner).queue!.ticket });
    await answered(back);
    expect(grantOf(back).subject).toBe("owner");
  });

  it("wakes only the first in line when the lock is released, however long the line", async () => {
    const costOfHandOver = async (waiters: number) => {
      let held = await locks.acquire(request({ name: `line-${waiters}` }));
      const line = Array.from({ length: waiters }, (_, i) => ({ i, waiter: undefined as Pending<Grant> | undefined }));
      for (const entry of line) {
        entry.waiter = pending(locks.acquire(request({ name: `line-${waiters}`, subject: `w${entry.i}`, waitMs: 50_000 })));
        await vi.waitFor(async () => expect((await store.inner.listTickets(`line-${waiters}`)).tickets).toHaveLength(entry.i + 1));
      }
      await settle();
      store.calls.length = 0;
      await locks.release(`line-${waiters}`, held.token);
      await answered(line[0]!.waiter!);
      await settle();
      held = grantOf(line[0]!.waiter!);
      return store.calls.filter((call) => call !== "waitForChange" && call !== "waitForTicketChange").length;
    };
    const short = await costOfHandOver(2);
    const long = await costOfHandOver(8);
    expect(long).toBe(short);
    expect(long).toBeLessThanOrEqual(8);
  });

  it("shows the line in order, with each waiter's label, subject and waiting time", async () => {
    await locks.acquire(request());
    wait("w1", { label: "deploy #2" });
    await joined(1);
    clock.advance(3);
    wait("w2");
    await joined(2);
    const state = await locks.state("deploy");
    expect(state!.queue).toMatchObject([
      { position: 1, holder: "deploy #2", subject: "w1", holderIdentity: "deploy #2 (w1)" },
      { position: 2, subject: "w2", holderIdentity: "w2" },
    ]);
    expect(state!.queue[1]!.waitingSince.getTime() - state!.queue[0]!.waitingSince.getTime()).toBe(3000);
    const page = await locks.list(10, undefined, "scope");
    expect(page.items.find((item) => item.name === "deploy")!.queue).toHaveLength(2);
  });

  it("is not left marked by a line of lapsed tickets: the next caller takes the lock and clears them", async () => {
    const held = await locks.acquire(request());
    const gone = wait("gone", { waitMs: 1000 });
    await joined(1);
    await asleep();
    clock.advance(1);
    await answered(gone);
    await locks.release("deploy", held.token);
    clock.advance(TICKET_TTL + SKEW + 1);
    const grant = await locks.acquire(request({ subject: "later" }));
    expect(grant.subject).toBe("later");
    expect(await waiting()).toBe(0);
    // The mark goes with the next grant that finds no ticket at all.
    await locks.release("deploy", grant.token);
    await locks.acquire(request({ subject: "third" }));
    expect((await store.inner.get("deploy"))!.record.queueMark).toBeUndefined();
  });

  it("refuses to write a grant decided on a line read before another waiter joined", async () => {
    const held = await locks.acquire(request());
    const first = wait("first");
    await joined(1);
    // The first in line reads the line (only itself) and decides to take the lock and clear the
    // mark; before it writes, a second waiter joins. Its mark makes that write fail.
    const other = new LockService({
      store: store.inner,
      clock,
      tokens: await TokenKeys.import([crypto.getRandomValues(new Uint8Array(32))]),
      cursors: await ListCursors.import([crypto.getRandomValues(new Uint8Array(32))]),
      namespace: "ns",
      skewAllowanceSeconds: SKEW,
      ticketTtlSeconds: TICKET_TTL,
    });
    let second: Pending<Grant> | undefined;
    store.beforeNext("replace", async () => {
      second = pending(other.acquire(request({ subject: "second", waitMs: 50_000 })));
      await joined(2);
      await vi.waitFor(async () => expect((await store.inner.get("deploy"))!.record.queueMark).toContain("-"));
    });
    await locks.release("deploy", held.token);
    await answered(first);
    expect(grantOf(first).subject).toBe("first");
    // The lock still says that someone waits: a newcomer cannot take it when the first releases.
    expect((await store.inner.get("deploy"))!.record.queueMark).toBeDefined();
    await locks.release("deploy", grantOf(first).token);
    await answered(second!);
    expect(grantOf(second!).subject).toBe("second");
  });

  it("marks the lock again when it changed between the waiter's ticket and its mark", async () => {
    const held = await locks.acquire(request());
    // The holder renews just before the waiter's mark is written: that mark is refused.
    store.beforeNext("replace", () => locks.renew("deploy", held.token, undefined).then(() => undefined));
    const waiter = wait("w1");
    await joined(1);
    await vi.waitFor(async () => expect((await store.inner.get("deploy"))!.record.queueMark).toBeDefined());
    await locks.release("deploy", held.token);
    await answered(waiter);
    expect(grantOf(waiter).subject).toBe("w1");
  });

  it("grants a waiter a free lock nobody waits for at the cost of a try-lock, without a ticket", async () => {
    const first = await locks.acquire(request());
    await locks.release("deploy", first.token);
    store.calls.length = 0;
    const waited = await locks.acquire(request({ subject: "w1", waitMs: 50_000 }));
    expect(waited.subject).toBe("w1");
    expect(store.calls).toEqual(["get", "replace"]);
  });

  it("gives every one of many waiters arriving at once a place, however often their marks collide", async () => {
    await locks.acquire(request());
    const arrivals = Array.from({ length: 24 }, (_, i) => wait(`w${i}`, { waitMs: 5000 }));
    await joined(24);
    await asleep(24);
    clock.advance(5);
    for (const arrival of arrivals) await answered(arrival);
    const positions = arrivals.map((arrival) => refusal(arrival).queue!.position).sort((a, b) => a! - b!);
    expect(positions).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  });
});
