import { beforeEach, describe, expect, it } from "vitest";
import { ListCursors } from "../../src/locks/list-cursor.ts";
import { LockError } from "../../src/locks/lock-errors.ts";
import { SEMAPHORE_HOLDER } from "../../src/locks/lock-record.ts";
import { type AcquireRequest, type Grant, LockService } from "../../src/locks/lock-service.ts";
import { TokenKeys } from "../../src/locks/lock-token.ts";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { answered, pending, settle } from "../support/pending.ts";

const SKEW = 2;
const PLACES = 3;
let store: MemoryStore;
let clock: FakeClock;
let locks: LockService;

const request = (subject: string, overrides: Partial<AcquireRequest> = {}): AcquireRequest => ({
  name: "pool",
  subject,
  issuer: "https://idp",
  ttlSeconds: 30,
  metadata: {},
  ...overrides,
});
const refusal = async (promise: Promise<unknown>) => {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(LockError);
  return err as LockError;
};
const fillPool = async () => {
  const grants: Grant[] = [];
  for (let i = 0; i < PLACES; i++) {
    grants.push(await locks.acquire(request(`h${i}`, { ttlSeconds: 30 + i })));
    clock.advance(1);
  }
  return grants;
};

beforeEach(async () => {
  store = new MemoryStore();
  clock = new FakeClock();
  const key = crypto.getRandomValues(new Uint8Array(32));
  locks = new LockService({
    store,
    clock,
    tokens: await TokenKeys.import([key]),
    cursors: await ListCursors.import([key]),
    namespace: "ns",
    skewAllowanceSeconds: SKEW,
    ticketTtlSeconds: 15,
    maxHolders: (name) => (name.startsWith("pool") ? PLACES : 1),
  });
});

describe("a lock that admits several holders (a semaphore)", () => {
  it("admits up to its number of holders, each with its own token and a larger fencing token than the one before", async () => {
    const grants = await fillPool();
    const tokens = grants.map((grant) => BigInt(grant.fencingToken));
    expect(tokens).toEqual([...tokens].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(grants.map((grant) => grant.token)).size).toBe(PLACES);
    const err = await refusal(locks.acquire(request("late")));
    // The refusal names the hold that ends first: a place frees then at the latest.
    expect(err).toMatchObject({ reason: "held", heldBy: { subject: "h0" } });
    // h0 was granted 3 s ago for 30 s.
    expect(err.retryAfterSeconds).toBe(30 - 3 + SKEW);
    const state = await locks.state("pool");
    expect(state).toMatchObject({ status: "held", maxHolders: PLACES, holderIdentity: SEMAPHORE_HOLDER });
    expect(state!.holders.map((holder) => holder.subject)).toEqual(["h0", "h1", "h2"]);
  });

  it("shows other Lease clients the lock held for as long as its longest hold, and free after the last release", async () => {
    const grants = await fillPool();
    const lease = (await store.get("pool"))!.record;
    expect(lease.holderIdentity).toBe(SEMAPHORE_HOLDER);
    // h2 was granted 2 s after h0 for 32 s; the Lease's own fields cover until then.
    expect(lease.renewedAt!.getTime() + lease.ttlSeconds * 1000).toBeGreaterThanOrEqual(grants[2]!.expiresAt.getTime());
    for (const grant of grants) expect(await locks.release("pool", grant.token)).toEqual({ released: true });
    const after = (await store.get("pool"))!.record;
    expect(after.holderIdentity).toBeUndefined();
    expect(after.holds).toBeUndefined();
    expect((await locks.state("pool"))!.status).toBe("free");
  });

  it("renews one hold without touching the others, and each token acts only on its own hold", async () => {
    const [first, second] = await fillPool();
    clock.advance(20);
    const renewed = await locks.renew("pool", first!.token, 60);
    expect(renewed).toMatchObject({ fencingToken: first!.fencingToken, ttlSeconds: 60 });
    expect(await locks.release("pool", second!.token)).toEqual({ released: true });
    expect(await locks.release("pool", second!.token)).toEqual({ released: false });
    const holders = (await locks.state("pool"))!.holders;
    expect(holders.map((holder) => holder.subject).sort()).toEqual(["h0", "h2"]);
    expect(holders.find((holder) => holder.subject === "h0")!.expiresAt.getTime()).toBe(clock.now().getTime() + 60_000);
  });

  it("frees the place of a hold that ran out, without anyone writing", async () => {
    const grants = await fillPool();
    // h0 was granted 3 s ago for 30 s: its place frees 27 s (plus the skew allowance) from now.
    clock.advance(27 + SKEW - 0.01);
    await refusal(locks.acquire(request("early")));
    clock.advance(0.02);
    const granted = await locks.acquire(request("next"));
    expect(BigInt(granted.fencingToken)).toBeGreaterThan(BigInt(grants[2]!.fencingToken));
    // The hold that ran out is gone: renewing it says so.
    expect(await refusal(locks.renew("pool", grants[0]!.token, undefined))).toMatchObject({ reason: "lost" });
  });

  it("hands freed places to waiters in the order they arrived, as many at once as places free", async () => {
    const grants = await fillPool();
    const waiters = ["w0", "w1", "w2"].map((subject) => ({ subject, waiter: pending(locks.acquire(request(subject, { waitMs: 50_000 }))) }));
    await settle();
    await locks.release("pool", grants[1]!.token);
    await locks.release("pool", grants[2]!.token);
    await answered(waiters[0]!.waiter);
    await answered(waiters[1]!.waiter);
    await settle();
    expect(waiters[2]!.waiter.done).toBe(false);
    expect([waiters[0]!.waiter.value!.subject, waiters[1]!.waiter.value!.subject]).toEqual(["w0", "w1"]);
    await locks.release("pool", grants[0]!.token);
    await answered(waiters[2]!.waiter);
    expect((await locks.state("pool"))!.holders).toHaveLength(PLACES);
  });

  it("counts another Lease client that holds the Lease's own fields as one holder", async () => {
    await locks.acquire(request("h0"));
    const current = (await store.get("pool"))!;
    // The client takes the Lease once leasegate's cover has run out, as client-go would: here, directly.
    await store.replace("pool", { ...current.record, holderIdentity: "elector-1", grant: undefined, renewedAt: clock.now(), ttlSeconds: 60 }, current.resourceVersion);
    await locks.acquire(request("h1"));
    await refusal(locks.acquire(request("h2")));
    expect((await store.get("pool"))!.record.holderIdentity).toBe("elector-1");
  });

  it("lets an admin end every hold at once", async () => {
    const grants = await fillPool();
    expect(await locks.forceRelease("pool", { subject: "ops" })).toEqual({ released: true });
    expect((await locks.state("pool"))!.holders).toEqual([]);
    expect(await refusal(locks.renew("pool", grants[0]!.token, undefined))).toMatchObject({ reason: "lost" });
  });

  it("keeps serving a grant made while the lock admitted one holder, after it became a semaphore", async () => {
    const single = new LockService({
      store,
      clock,
      tokens: await TokenKeys.import([new Uint8Array(32).fill(1)]),
      cursors: await ListCursors.import([new Uint8Array(32).fill(1)]),
      namespace: "ns",
      skewAllowanceSeconds: SKEW,
      ticketTtlSeconds: 15,
    });
    const old = await single.acquire(request("before"));
    const widened = new LockService({
      store,
      clock,
      tokens: await TokenKeys.import([new Uint8Array(32).fill(1)]),
      cursors: await ListCursors.import([new Uint8Array(32).fill(1)]),
      namespace: "ns",
      skewAllowanceSeconds: SKEW,
      ticketTtlSeconds: 15,
      maxHolders: () => 2,
    });
    const added = await widened.acquire(request("after"));
    await refusal(widened.acquire(request("third")));
    expect(await widened.renew("pool", old.token, undefined)).toMatchObject({ subject: "before" });
    expect(await widened.release("pool", old.token)).toEqual({ released: true });
    expect(await widened.release("pool", added.token)).toEqual({ released: true });
    expect((await widened.state("pool"))!.status).toBe("free");
  });
});
