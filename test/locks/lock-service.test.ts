import { beforeEach, describe, expect, it } from "vitest";
import { LockError } from "../../src/locks/lock-errors.ts";
import { LockService, type AcquireRequest } from "../../src/locks/lock-service.ts";
import { StoreError } from "../../src/locks/lock-store.ts";
import { TokenKeys } from "../../src/locks/lock-token.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { HookedStore } from "../support/hooked-store.ts";

const SKEW = 2;
let store: HookedStore;
let clock: FakeClock;
let locks: LockService;
let tokens: TokenKeys;
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
  locks = new LockService({ store, clock, tokens, namespace: "ns", skewAllowanceSeconds: SKEW });
});

describe("acquire", () => {
  it("creates an absent lock with one read and one write, fencing token = the write's revision", async () => {
    const grant = await locks.acquire(request({ label: "ci-42", metadata: { run: "42" } }));
    const stored = await store.inner.get("deploy");
    expect(store.calls).toEqual(["get", "create"]);
    expect(grant.fencingToken).toBe(stored!.resourceVersion);
    expect(grant).toMatchObject({ holder: "ci-42", subject: "alice", transitions: 0, ttlSeconds: 10, replayed: false, metadata: { run: "42" } });
    expect(grant.expiresAt.getTime() - grant.acquiredAt.getTime()).toBe(10_000);
    expect(grant.token).toMatch(/^lg1\.\d+\./);
    expect(stored!.record.holder!.verifier).not.toContain(grant.token.split(".")[2]);
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
      await inner.replace("deploy", { ...current!.record, holder: { subject: "rival", verifier: "x", metadata: {} }, renewedAt: clock.now() }, current!.resourceVersion);
    });
    const err = await rejection(locks.acquire(request({ subject: "bob" })));
    expect(err.reason).toBe("held");
    expect(err.heldBy?.subject).toBe("rival");
    expect(store.calls).toEqual(["get", "create", "get", "replace", "get"]);
  });

  it("re-reads when a create loses the race to another creator", async () => {
    store.beforeNext("create", async (inner) => {
      await inner.create("deploy", { holder: { subject: "rival", verifier: "x", metadata: {} }, ttlSeconds: 10, renewedAt: clock.now(), transitions: 0 });
    });
    expect((await rejection(locks.acquire(request()))).heldBy?.subject).toBe("rival");
  });

  it("answers 'acquired' when a write whose outcome was unknown did land", async () => {
    store.failAfterNext("create", new StoreError("unknown_outcome", "timeout"));
    const grant = await locks.acquire(request());
    expect(store.calls).toEqual(["get", "create", "get"]);
    expect(grant.fencingToken).toBe((await store.inner.get("deploy"))!.resourceVersion);
  });

  it("never answers 'acquired' for a write whose outcome was unknown and did not land", async () => {
    store.beforeNext("create", () => {
      throw new StoreError("unknown_outcome", "timeout");
    });
    store.beforeNext("get", () => undefined);
    store.beforeNext("get", () => {
      throw new StoreError("unavailable", "down");
    });
    const err = await rejection(locks.acquire(request()));
    expect(err.reason).toBe("backend_unavailable");
    expect(await store.inner.get("deploy")).toBeNull();
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
    const service = new LockService({ store: weird, clock, tokens, namespace: "ns", skewAllowanceSeconds: SKEW });
    expect((await rejection(service.acquire(request()))).reason).toBe("backend_invalid");
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
    const [p, f, s, m] = other.token.split(".");
    const altered = [p, String(BigInt(f!) + 1n), s, m].join(".");
    expect((await rejection(locks.renew("other", altered, undefined))).reason).toBe("invalid_token");
  });

  it("accepts tokens signed with a previous key after rotation, and none once that key is dropped", async () => {
    const grant = await locks.acquire(request());
    const newKey = crypto.getRandomValues(new Uint8Array(32));
    const service = async (keys: Uint8Array[]) =>
      new LockService({ store, clock, tokens: await TokenKeys.import(keys), namespace: "ns", skewAllowanceSeconds: SKEW });
    expect((await (await service([newKey, rawKey])).renew("deploy", grant.token, undefined)).fencingToken).toBe(grant.fencingToken);
    expect((await rejection((await service([newKey])).renew("deploy", grant.token, undefined))).reason).toBe("invalid_token");
  });

  it("scopes tokens to the namespace they were issued in", async () => {
    const grant = await locks.acquire(request());
    const elsewhere = new LockService({ store, clock, tokens, namespace: "other-ns", skewAllowanceSeconds: SKEW });
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
    expect(await locks.forceRelease("deploy", "admin")).toEqual({ released: true });
    const state = await locks.state("deploy");
    expect(state).toMatchObject({ status: "free", forcedRelease: { by: "admin", at: clock.now() } });
    expect((await rejection(locks.renew("deploy", grant.token, undefined))).reason).toBe("lost");
    expect(await locks.forceRelease("deploy", "admin")).toEqual({ released: false });
    expect((await rejection(locks.forceRelease("nothing", "admin"))).reason).toBe("not_found");
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
    const first = await locks.list(2);
    expect(first.items.map((s) => s.name)).toEqual(["a", "b"]);
    const second = await locks.list(2, first.cursor);
    expect(second.items.map((s) => s.name)).toEqual(["c"]);
    expect(second.cursor).toBeUndefined();

    store.calls.length = 0;
    const [raw, mac] = first.cursor!.split(".") as [string, string];
    for (const forged of [raw, `${raw}.${mac.slice(0, -2)}AA`, `${btoa("{}").replace(/=+$/, "")}.${mac}`, "x.y.z"]) {
      expect((await rejection(locks.list(2, forged))).reason).toBe("invalid_cursor");
    }
    expect(store.calls).toEqual([]);
  });

  it("calls an expired cursor invalid rather than a backend failure", async () => {
    await locks.acquire(request({ name: "a" }));
    await locks.acquire(request({ name: "b" }));
    const { cursor } = await locks.list(1);
    store.beforeNext("list", () => {
      throw new StoreError("cursor_expired", "the list continuation has expired");
    });
    expect((await rejection(locks.list(1, cursor))).reason).toBe("invalid_cursor");
  });
});
