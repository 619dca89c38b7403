import { beforeEach, describe, expect, it, vi } from "vitest";
import { LockError } from "../../src/locks/lock-errors.ts";
import { LockService, type AcquireRequest } from "../../src/locks/lock-service.ts";
import { StoreError } from "../../src/locks/lock-store.ts";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import { ListCursors } from "../../src/locks/list-cursor.ts";
import { TokenKeys } from "../../src/locks/lock-token.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { HookedStore } from "../support/hooked-store.ts";
import { answered, pending, settle } from "../support/pending.ts";

const SKEW = 2;
const TICKET_TTL = 15;
let store: HookedStore;
let clock: FakeClock;
let locks: LockService;
let tokens: TokenKeys;
let cursors: ListCursors;
let rawKey: Uint8Array;

const request = (overrides: Partial<AcquireRequest> = {}): AcquireRequest => ({
  name: "deploy",
  subject: "alice",
  issuer: "https://idp",
  ttlSeconds: 10,
  metadata: {},
  ...overrides,
});

async function rejection(promise: Promise<unknown>): Promise<LockError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LockError);
  return err as LockError;
}

beforeEach(async () => {
  store = new HookedStore();
  clock = new FakeClock();
  rawKey = crypto.getRandomValues(new Uint8Array(32));
  tokens = await TokenKeys.import([rawKey]);
  cursors = await ListCursors.import([rawKey]);
  locks = new LockService({ store, clock, tokens, cursors, namespace: "ns", skewAllowanceSeconds: SKEW, ticketTtlSeconds: TICKET_TTL });
});

describe("acquire", () => {
  it("creates an absent lock free, then grants it on top of that revision; the granting write records the fencing token", async () => {
    const grant = await locks.acquire(request({ label: "ci-42", metadata: { run: "42" } }));
    const stored = await store.inner.get("deploy");
    expect(store.calls).toEqual(["get", "create", "replace"]);
    // The memory store's revisions count writes: the free create is 1, the grant 2 = 1 + 1.
    expect(grant.fencingToken).toBe("2");
    expect(stored!.resourceVersion).toBe("2");
    expect(stored!.record.grant!.fencingToken).toBe("2");
    expect(grant).toMatchObject({ holder: "ci-42", holderIdentity: "ci-42 (alice)", subject: "alice", transitions: 0, ttlSeconds: 10, replayed: false, metadata: { run: "42" } });
    expect(stored!.record).toMatchObject({ holderIdentity: "ci-42 (alice)", grant: { subject: "alice", issuer: "https://idp", label: "ci-42" } });
    expect(grant.expiresAt.getTime() - grant.acquiredAt.getTime()).toBe(10_000);
    expect(grant.token).toMatch(/^lg2\.2\./);
    expect(stored!.record.grant!.verifier).not.toContain(grant.token.split(".")[2]);
  });

  it("grants an existing free lock with one read and one write", async () => {
    const first = await locks.acquire(request());
    await locks.release("deploy", first.token);
    store.calls.length = 0;
    const second = await locks.acquire(request());
    expect(store.calls).toEqual(["get", "replace"]);
    expect(BigInt(second.fencingToken)).toBeGreaterThan(BigInt(first.fencingToken));
  });

  it("refuses a live grant with the holder, its expiry and when to retry", async () => {
    await locks.acquire(request({ label: "first" }));
    clock.advance(4);
    const err = await rejection(locks.acquire(request({ subject: "bob" })));
    expect(err.reason).toBe("held");
    expect(err.heldBy).toMatchObject({ holder: "first", subject: "alice" });
    expect(err.retryAfterSeconds).toBe(10 - 4 + SKEW);
  });

  it("keeps an expired grant during the skew allowance, then lets another caller take over", async () => {
    const first = await locks.acquire(request());
    clock.advance(10 + SKEW);
    expect((await rejection(locks.acquire(request({ subject: "bob" })))).reason).toBe("held");
    clock.advance(0.001);
    const second = await locks.acquire(request({ subject: "bob" }));
    expect(second.transitions).toBe(1);
    expect(BigInt(second.fencingToken)).toBeGreaterThan(BigInt(first.fencingToken));
  });

  it("gives the same caller a new grant rather than sharing the old one (tokens are per grant)", async () => {
    const first = await locks.acquire(request());
    expect((await rejection(locks.acquire(request()))).reason).toBe("held");
    await locks.release("deploy", first.token);
    const second = await locks.acquire(request());
    expect(second.token).not.toBe(first.token);
    expect(BigInt(second.fencingToken)).toBeGreaterThan(BigInt(first.fencingToken));
  });

  it("returns the existing grant to a retry with the same Idempotency-Key, even after renewals", async () => {
    const first = await locks.acquire(request({ idempotencyKey: "k1" }));
    clock.advance(3);
    await locks.renew("deploy", first.token, undefined);
    const again = await locks.acquire(request({ idempotencyKey: "k1" }));
    expect(again).toMatchObject({ token: first.token, fencingToken: first.fencingToken, replayed: true });
  });

  it("does not let another caller, or another issuer's same subject, replay someone's Idempotency-Key", async () => {
    await locks.acquire(request({ idempotencyKey: "k1" }));
    expect((await rejection(locks.acquire(request({ subject: "bob", idempotencyKey: "k1" })))).reason).toBe("held");
    expect((await rejection(locks.acquire(request({ issuer: "https://other", idempotencyKey: "k1" })))).reason).toBe("held");
  });

  it("re-reads and decides again when a rival wrote between its read and its write", async () => {
    await locks.acquire(request());
    clock.advance(20);
    store.beforeNext("replace", async (inner) => {
      const current = await inner.get("deploy");
      await inner.replace("deploy", { ...current!.record, holderIdentity: "rival-pod", grant: undefined, renewedAt: clock.now() }, current!.resourceVersion);
    });
    const err = await rejection(locks.acquire(request({ subject: "bob" })));
    expect(err.reason).toBe("held");
    expect(err.heldBy).toMatchObject({ holderIdentity: "rival-pod", holder: "rival-pod", subject: undefined });
    expect(store.calls).toEqual(["get", "create", "replace", "get", "replace", "get"]);
  });

  it("re-reads when a create loses the race to another creator", async () => {
    store.beforeNext("create", async (inner) => {
      await inner.create("deploy", { holderIdentity: "rival-pod", ttlSeconds: 10, renewedAt: clock.now(), transitions: 0 });
    });
    expect((await rejection(locks.acquire(request()))).heldBy?.holderIdentity).toBe("rival-pod");
  });

  it("answers 'acquired' when a write whose outcome was unknown did land", async () => {
    store.failAfterNext("replace", new StoreError("unknown_outcome", "timeout"));
    const grant = await locks.acquire(request());
    expect(store.calls).toEqual(["get", "create", "replace", "get"]);
    expect(grant.fencingToken).toBe((await store.inner.get("deploy"))!.record.grant!.fencingToken);
    expect((await locks.renew("deploy", grant.token, undefined)).fencingToken).toBe(grant.fencingToken);
  });

  it("never answers 'acquired' for a write whose outcome was unknown and did not land", async () => {
    store.beforeNext("replace", () => {
      throw new StoreError("unknown_outcome", "timeout");
    });
    store.beforeNext("get", () => undefined);
    store.beforeNext("get", () => {
      throw new StoreError("unavailable", "down");
    });
    const err = await rejection(locks.acquire(request()));
    expect(err.reason).toBe("backend_unavailable");
    expect((await locks.state("deploy"))!.status).toBe("free");
  });

  it("retries the free create whose outcome was unknown by reading again", async () => {
    store.beforeNext("create", () => {
      throw new StoreError("unknown_outcome", "timeout");
    });
    const grant = await locks.acquire(request());
    expect(store.calls).toEqual(["get", "create", "get", "create", "replace"]);
    expect(grant.fencingToken).toBe("2");
  });

  it("reports an unreachable backend as backend_unavailable with a retry hint", async () => {
    store.beforeNext("get", () => {
      throw new StoreError("unavailable", "connection refused");
    });
    const err = await rejection(locks.acquire(request()));
    expect(err.reason).toBe("backend_unavailable");
    expect(err.retryAfterSeconds).toBe(1);
  });

  it("gives up with 'contention' when every write loses", async () => {
    await locks.acquire(request());
    clock.advance(30);
    for (let i = 0; i < 5; i++) {
      store.beforeNext("replace", async (inner) => {
        const current = await inner.get("deploy");
        await inner.replace("deploy", { ...current!.record }, current!.resourceVersion);
      });
    }
    expect((await rejection(locks.acquire(request({ subject: "bob" })))).reason).toBe("contention");
  });

  it("grants exactly one of 50 concurrent acquirers", async () => {
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => locks.acquire(request({ subject: `c${i}` }))));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const reasons = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as LockError).reason] : []));
    expect(new Set(reasons)).toEqual(new Set(["held"]));
  });

  it("refuses a storage revision that is not an unsigned integer rather than inventing a fencing token", async () => {
    const weird = { ...store.inner, get: async () => null, create: async () => "abc" } as unknown as HookedStore;
    const service = new LockService({ store: weird, clock, tokens, cursors, namespace: "ns", skewAllowanceSeconds: SKEW, ticketTtlSeconds: TICKET_TTL });
    expect((await rejection(service.acquire(request()))).reason).toBe("backend_invalid");
  });
});

describe("other Lease clients (client-go, kubectl)", () => {
  /** Writes the lock the way a client-go elector takes a Lease over: its identity and times, our annotations left alone. */
  async function foreignTakeover(holderIdentity: string, ttlSeconds = 15) {
    const current = await store.inner.get("deploy");
    await store.inner.replace(
      "deploy",
      { ...current!.record, holderIdentity, ttlSeconds, acquiredAt: clock.now(), renewedAt: clock.now(), transitions: current!.record.transitions + 1 },
      current!.resourceVersion,
    );
  }

  it("never grants a Lease another client holds, and names that holder and its expiry", async () => {
    const first = await locks.acquire(request());
    await locks.release("deploy", first.token);
    await foreignTakeover("elector-1");
    clock.advance(10);
    const err = await rejection(locks.acquire(request({ subject: "bob" })));
    expect(err.reason).toBe("held");
    expect(err.heldBy).toEqual({ holderIdentity: "elector-1", holder: "elector-1", subject: undefined, expiresAt: new Date(clock.now().getTime() + 5000) });
    expect(err.retryAfterSeconds).toBe(5 + SKEW);
    expect(await locks.state("deploy")).toMatchObject({ status: "held", holderIdentity: "elector-1", subject: undefined, fencingToken: undefined });
  });

  it("does not mistake another client's hold for a grant because leasegate's annotations were left on the Lease", async () => {
    const grant = await locks.acquire(request({ idempotencyKey: "run-1" }));
    clock.advance(10 + SKEW + 1);
    await foreignTakeover("elector-1");
    // Neither a replay with the same key nor the old token may touch the new holder's Lease.
    expect((await rejection(locks.acquire(request({ idempotencyKey: "run-1" })))).heldBy?.holderIdentity).toBe("elector-1");
    expect((await rejection(locks.renew("deploy", grant.token, undefined))).reason).toBe("lost");
    expect((await rejection(locks.release("deploy", grant.token))).reason).toBe("not_holder");
    expect((await store.inner.get("deploy"))!.record.holderIdentity).toBe("elector-1");
  });

  it("takes over another client's expired hold of a lock it manages, with a larger fencing token", async () => {
    const first = await locks.acquire(request());
    await locks.release("deploy", first.token);
    await foreignTakeover("elector-1", 5);
    clock.advance(5 + SKEW + 1);
    const grant = await locks.acquire(request({ subject: "bob" }));
    expect(BigInt(grant.fencingToken)).toBeGreaterThan(BigInt(first.fencingToken));
    expect(grant.transitions).toBe(2);
  });

  it("treats a hold whose holder identity someone cleared as over: renew is 'lost', not a crash", async () => {
    const grant = await locks.acquire(request());
    const current = await store.inner.get("deploy");
    await store.inner.replace("deploy", { ...current!.record, holderIdentity: undefined }, current!.resourceVersion);
    expect((await rejection(locks.renew("deploy", grant.token, undefined))).reason).toBe("lost");
    expect(await locks.release("deploy", grant.token)).toEqual({ released: false });
    expect((await locks.state("deploy"))!.status).toBe("free");
  });

  it("counts a holder identity without renewTime as expired, as every Lease client would", async () => {
    const first = await locks.acquire(request());
    await locks.release("deploy", first.token);
    const current = await store.inner.get("deploy");
    await store.inner.replace("deploy", { ...current!.record, holderIdentity: "half-written", renewedAt: undefined }, current!.resourceVersion);
    expect((await locks.state("deploy"))!.status).toBe("expired");
    await locks.acquire(request({ subject: "bob" }));
  });
});

describe("a token opens exactly one grant", () => {
  it("does not let an earlier grant's token renew or release a later grant made with the same Idempotency-Key", async () => {
    const grant1 = await locks.acquire(request({ idempotencyKey: "K" }));
    await locks.release("deploy", grant1.token);
    const other = await locks.acquire(request({ subject: "bob" }));
    await locks.release("deploy", other.token);
    const grant3 = await locks.acquire(request({ idempotencyKey: "K" }));
    expect(BigInt(grant3.fencingToken)).toBeGreaterThan(BigInt(other.fencingToken));
    expect(grant3.token).not.toBe(grant1.token);

    expect((await rejection(locks.renew("deploy", grant1.token, undefined))).reason).toBe("lost");
    expect((await rejection(locks.release("deploy", grant1.token))).reason).toBe("not_holder");
    const state = await locks.state("deploy");
    expect(state).toMatchObject({ status: "held", fencingToken: grant3.fencingToken });
    expect((await locks.renew("deploy", grant3.token, undefined)).fencingToken).toBe(grant3.fencingToken);
  });

  it("replays within one grant: the same token and fencing token, even after renewals", async () => {
    const first = await locks.acquire(request({ idempotencyKey: "K" }));
    clock.advance(3);
    await locks.renew("deploy", first.token, undefined);
    expect(await locks.acquire(request({ idempotencyKey: "K" }))).toMatchObject({ token: first.token, fencingToken: first.fencingToken, replayed: true });
  });

  it("refuses a token whose MAC is spelled non-canonically (a spare bit set)", async () => {
    const grant = await locks.acquire(request());
    const parts = grant.token.split(".");
    const mac = parts[4]!;
    // 32 bytes are 43 base64url characters: the last one carries 2 spare bits.
    const flipped = mac.slice(0, -1) + String.fromCharCode(mac.charCodeAt(42) + 1);
    expect((await rejection(locks.renew("deploy", [...parts.slice(0, 4), flipped].join("."), undefined))).reason).toBe("invalid_token");
  });
});

describe("renew", () => {
  it("extends the grant with exactly one request and keeps the fencing token", async () => {
    const grant = await locks.acquire(request());
    clock.advance(5);
    store.calls.length = 0;
    const renewed = await locks.renew("deploy", grant.token, 20);
    expect(store.calls).toEqual(["updateHeld"]);
    expect(renewed.fencingToken).toBe(grant.fencingToken);
    expect(renewed.token).toBe(grant.token);
    expect(renewed.expiresAt.getTime()).toBe(clock.now().getTime() + 20_000);
    expect((await locks.state("deploy"))!.fencingToken).toBe(grant.fencingToken);
  });

  it("keeps the grant's ttl when none is given", async () => {
    const grant = await locks.acquire(request({ ttlSeconds: 7 }));
    expect((await locks.renew("deploy", grant.token, undefined)).ttlSeconds).toBe(7);
  });

  it("is allowed after expiry as long as nobody took the lock", async () => {
    const grant = await locks.acquire(request());
    clock.advance(60);
    expect((await locks.renew("deploy", grant.token, undefined)).fencingToken).toBe(grant.fencingToken);
  });

  it("fails with 'lost' once someone else holds the lock, naming them", async () => {
    const grant = await locks.acquire(request());
    clock.advance(60);
    await locks.acquire(request({ subject: "bob", label: "b" }));
    const err = await rejection(locks.renew("deploy", grant.token, undefined));
    expect(err.reason).toBe("lost");
    expect(err.heldBy).toMatchObject({ subject: "bob", holder: "b" });
  });

  it("fails with 'lost' after the grant was released", async () => {
    const grant = await locks.acquire(request());
    await locks.release("deploy", grant.token);
    expect((await rejection(locks.renew("deploy", grant.token, undefined))).reason).toBe("lost");
  });

  it("refuses a token issued for another lock, or altered", async () => {
    const other = await locks.acquire(request({ name: "other" }));
    await locks.acquire(request());
    expect((await rejection(locks.renew("deploy", other.token, undefined))).reason).toBe("invalid_token");
    const [p, f, ...rest] = other.token.split(".");
    const altered = [p, String(BigInt(f!) + 1n), ...rest].join(".");
    expect((await rejection(locks.renew("other", altered, undefined))).reason).toBe("invalid_token");
  });

  it("accepts tokens signed with a previous key after rotation, and none once that key is dropped", async () => {
    const grant = await locks.acquire(request());
    const newKey = crypto.getRandomValues(new Uint8Array(32));
    const service = async (keys: Uint8Array[]) =>
      new LockService({ store, clock, tokens: await TokenKeys.import(keys), cursors, namespace: "ns", skewAllowanceSeconds: SKEW, ticketTtlSeconds: TICKET_TTL });
    expect((await (await service([newKey, rawKey])).renew("deploy", grant.token, undefined)).fencingToken).toBe(grant.fencingToken);
    expect((await rejection((await service([newKey])).renew("deploy", grant.token, undefined))).reason).toBe("invalid_token");
  });

  it("scopes tokens to the namespace they were issued in", async () => {
    const grant = await locks.acquire(request());
    const elsewhere = new LockService({ store, clock, tokens, cursors, namespace: "other-ns", skewAllowanceSeconds: SKEW, ticketTtlSeconds: TICKET_TTL });
    expect((await rejection(elsewhere.renew("deploy", grant.token, undefined))).reason).toBe("invalid_token");
  });
});

describe("release", () => {
  it("frees the lock with exactly one request; repeating it is harmless", async () => {
    const grant = await locks.acquire(request());
    store.calls.length = 0;
    expect(await locks.release("deploy", grant.token)).toEqual({ released: true });
    expect(store.calls).toEqual(["updateHeld"]);
    expect((await locks.state("deploy"))!.status).toBe("free");
    expect(await locks.release("deploy", grant.token)).toEqual({ released: false });
  });

  it("refuses with 'not_holder' when someone else holds the lock now", async () => {
    const grant = await locks.acquire(request());
    clock.advance(60);
    await locks.acquire(request({ subject: "bob" }));
    expect((await rejection(locks.release("deploy", grant.token))).reason).toBe("not_holder");
    expect((await locks.state("deploy"))!.subject).toBe("bob");
  });
});

describe("forceRelease and state", () => {
  it("ends any grant, records the actor, and the old token then renews nothing", async () => {
    const grant = await locks.acquire(request());
    clock.advance(1);
    const admin = { subject: "admin", issuer: "https://idp" };
    expect(await locks.forceRelease("deploy", admin)).toEqual({ released: true });
    const state = await locks.state("deploy");
    expect(state).toMatchObject({ status: "free", forcedRelease: { by: "admin", issuer: "https://idp", at: clock.now() } });
    expect((await rejection(locks.renew("deploy", grant.token, undefined))).reason).toBe("lost");
    expect(await locks.forceRelease("deploy", admin)).toEqual({ released: false });
    expect((await rejection(locks.forceRelease("nothing", admin))).reason).toBe("not_found");
  });

  it("shows held, expired and free without exposing the verifier", async () => {
    expect(await locks.state("deploy")).toBeNull();
    await locks.acquire(request({ label: "l" }));
    expect((await locks.state("deploy"))!.status).toBe("held");
    clock.advance(10 + SKEW + 1);
    const expired = await locks.state("deploy");
    expect(expired!.status).toBe("expired");
    expect(JSON.stringify(expired)).not.toContain("verifier");
  });
});

describe("list", () => {
  it("pages with cursors only this service can make, and refuses any other without asking the store", async () => {
    for (const name of ["a", "b", "c"]) await locks.acquire(request({ name }));
    const first = await locks.list(2, undefined, "alice");
    expect(first.items.map((s) => s.name)).toEqual(["a", "b"]);
    const second = await locks.list(2, first.cursor, "alice");
    expect(second.items.map((s) => s.name)).toEqual(["c"]);
    expect(second.cursor).toBeUndefined();

    store.calls.length = 0;
    const [raw, mac] = first.cursor!.split(".") as [string, string];
    for (const forged of [raw, `${raw}.${mac.slice(0, -2)}AA`, `${btoa("{}").replace(/=+$/, "")}.${mac}`, "x.y.z"]) {
      expect((await rejection(locks.list(2, forged, "alice"))).reason).toBe("invalid_cursor");
    }
    // A cursor resumes only the listing it came from.
    expect((await rejection(locks.list(2, first.cursor, "bob"))).reason).toBe("invalid_cursor");
    expect(store.calls).toEqual([]);
  });

  it("calls an expired cursor invalid rather than a backend failure", async () => {
    await locks.acquire(request({ name: "a" }));
    await locks.acquire(request({ name: "b" }));
    const { cursor } = await locks.list(1, undefined, "alice");
    store.beforeNext("list", () => {
      throw new StoreError("cursor_expired", "the list continuation has expired");
    });
    expect((await rejection(locks.list(1, cursor, "alice"))).reason).toBe("invalid_cursor");
  });
});

describe("a waiting acquire", () => {
  /** Until the waiter sleeps on the clock, advancing it would not wake it. */
  const asleep = (sleepers = 1) => vi.waitFor(() => expect(clock.sleeping).toBeGreaterThanOrEqual(sleepers), { timeout: 5000 });

  it("is granted the moment the holder releases, without waiting for its expiry", async () => {
    const held = await locks.acquire(request({ ttlSeconds: 600 }));
    const waiter = pending(locks.acquire(request({ subject: "bob", waitMs: 60_000 })));
    await settle();
    expect(waiter.done).toBe(false);
    await locks.release("deploy", held.token);
    await answered(waiter);
    expect(waiter.value).toMatchObject({ subject: "bob" });
    expect(BigInt(waiter.value!.fencingToken)).toBeGreaterThan(BigInt(held.fencingToken));
    expect(store.calls).toContain("waitForChange");
  });

  it("is granted when the holder's time runs out, though nothing was written", async () => {
    await locks.acquire(request({ ttlSeconds: 10 }));
    const waiter = pending(locks.acquire(request({ subject: "bob", waitMs: 60_000 })));
    await asleep();
    clock.advance(10 + SKEW);
    await settle();
    expect(waiter.done).toBe(false);
    await asleep();
    clock.advance(0.01);
    await answered(waiter);
    expect(waiter.value).toMatchObject({ subject: "bob" });
  });

  it("waits out another Lease client's hold as well", async () => {
    const first = await locks.acquire(request());
    await locks.release("deploy", first.token);
    const current = await store.inner.get("deploy");
    await store.inner.replace("deploy", { ...current!.record, holderIdentity: "elector-1", ttlSeconds: 15, renewedAt: clock.now() }, current!.resourceVersion);
    const waiter = pending(locks.acquire(request({ subject: "bob", waitMs: 60_000 })));
    await settle();
    // The elector releases the way client-go does: holder cleared.
    const taken = await store.inner.get("deploy");
    await store.inner.replace("deploy", { ...taken!.record, holderIdentity: undefined }, taken!.resourceVersion);
    await answered(waiter);
    expect(waiter.value).toMatchObject({ subject: "bob" });
  });

  it("gives up when its wait ends, saying to call again at once", async () => {
    await locks.acquire(request({ ttlSeconds: 600 }));
    const waiter = pending(locks.acquire(request({ subject: "bob", waitMs: 5000 })));
    await asleep();
    clock.advance(5);
    await answered(waiter);
    expect(waiter.error).toBeInstanceOf(LockError);
    expect(waiter.error).toMatchObject({ reason: "held", retryAfterSeconds: 0 });
  });

  it("stops waiting when the caller goes away", async () => {
    await locks.acquire(request({ ttlSeconds: 600 }));
    const gone = new AbortController();
    const waiter = pending(locks.acquire(request({ subject: "bob", waitMs: 60_000, signal: gone.signal })));
    await settle();
    gone.abort();
    await answered(waiter);
    expect(waiter.error).toMatchObject({ reason: "held" });
    expect(clock.sleeping).toBe(0);
  });

  it("reads again every second while the store cannot watch, says so, and is still granted", async () => {
    const failures: unknown[] = [];
    locks = new LockService({ store, clock, tokens, cursors, namespace: "ns", skewAllowanceSeconds: SKEW, ticketTtlSeconds: TICKET_TTL, onWatchFailure: (err) => failures.push(err) });
    const held = await locks.acquire(request({ ttlSeconds: 600 }));
    store.beforeNext("waitForChange", () => {
      throw new StoreError("unavailable", "watch refused");
    });
    const waiter = pending(locks.acquire(request({ subject: "bob", waitMs: 60_000 })));
    await settle();
    await store.inner.updateHeld("deploy", { holderIdentity: held.holderIdentity, verifier: (await store.inner.get("deploy"))!.record.grant!.verifier, fencingToken: held.fencingToken }, { kind: "release" });
    // Asleep twice: until the holder's expiry, and until the next read instead of a watch.
    await asleep(2);
    clock.advance(1);
    await answered(waiter);
    expect(waiter.value).toMatchObject({ subject: "bob" });
    expect(failures).toMatchObject([{ reason: "unavailable" }]);
  });

  it("does not spin when the store's watch ends at once without a change", async () => {
    // A watch that a proxy closes straight away: every round would otherwise read again at once.
    class ClosingWatchStore extends MemoryStore {
      reads = 0;
      override async get(name: string) {
        this.reads++;
        return super.get(name);
      }
      override async waitForChange() {}
    }
    const closing = new ClosingWatchStore();
    const service = new LockService({ store: closing, clock, tokens, cursors, namespace: "ns", skewAllowanceSeconds: SKEW, ticketTtlSeconds: TICKET_TTL });
    await service.acquire(request({ ttlSeconds: 600 }));
    const waiter = pending(service.acquire(request({ subject: "bob", waitMs: 60_000 })));
    await settle();
    expect(closing.reads).toBeLessThanOrEqual(4);
    await asleep();
    clock.advance(0.25);
    await settle();
    expect(closing.reads).toBeLessThanOrEqual(7);
    expect(waiter.done).toBe(false);
  });

  it("hands the lock to exactly one of many waiters per release", async () => {
    let held = await locks.acquire(request({ ttlSeconds: 600 }));
    const waiters = Array.from({ length: 8 }, (_, i) => pending(locks.acquire(request({ subject: `w${i}`, ttlSeconds: 600, waitMs: 60_000 }))));
    await settle();
    const granted = () => waiters.filter((w) => w.done && w.value);
    for (let round = 1; round <= 3; round++) {
      await locks.release("deploy", held.token);
      await vi.waitFor(() => expect(granted()).toHaveLength(round), { timeout: 5000 });
      // The others went back to waiting rather than winning too.
      await settle();
      expect(granted()).toHaveLength(round);
      // The newest grant is the one holding the lock now.
      held = granted()
        .map((w) => w.value!)
        .sort((a, b) => Number(BigInt(b.fencingToken) - BigInt(a.fencingToken)))[0]!;
    }
    expect(waiters.filter((w) => w.error)).toHaveLength(0);
  });
});
