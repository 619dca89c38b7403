import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LockError } from "../../src/locks/lock-errors.ts";
import type { Versioned } from "../../src/locks/lock-record.ts";
import { type Grant, LockService } from "../../src/locks/lock-service.ts";
import { isStoreError } from "../../src/locks/lock-store.ts";
import { ListCursors } from "../../src/locks/list-cursor.ts";
import { TokenKeys } from "../../src/locks/lock-token.ts";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import { FakeClock } from "../support/fake-clock.ts";

/**
 * Properties of fencing tokens and lock tokens over random interleavings of acquire (with and
 * without an Idempotency-Key), renew, release, expiry, force-release and another Lease client
 * taking the lock over:
 *  - every fencing token answered for a lock is >= every token answered before the request began;
 *  - a lock token never changes a grant other than its own.
 */
const LOCK = "deploy";
const TTL = 10;
const SKEW = 2;

type Op =
  | { kind: "acquire"; caller: number; key?: string }
  | { kind: "renew"; grant: number }
  | { kind: "release"; grant: number }
  | { kind: "advance"; seconds: number }
  | { kind: "forceRelease" }
  | { kind: "foreignTakeover" };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("acquire" as const), caller: fc.integer({ min: 0, max: 2 }), key: fc.option(fc.constantFrom("K1", "K2"), { nil: undefined }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("renew" as const), grant: fc.nat({ max: 30 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("release" as const), grant: fc.nat({ max: 30 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("advance" as const), seconds: fc.constantFrom(1, 5, TTL, TTL + SKEW + 1) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "forceRelease" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "foreignTakeover" as const }) },
);

interface World {
  store: MemoryStore;
  clock: FakeClock;
  locks: LockService;
  /** Every grant answered so far, in answer order. */
  grants: Grant[];
  /** Every fencing token answered (acquire or renew), with the op counter when the answer came. */
  answered: Array<{ token: bigint; at: number }>;
  tick: number;
}

async function newWorld(): Promise<World> {
  const store = new MemoryStore();
  const clock = new FakeClock();
  const rawKey = crypto.getRandomValues(new Uint8Array(32));
  const locks = new LockService({
    store,
    clock,
    tokens: await TokenKeys.import([rawKey]),
    cursors: await ListCursors.import([rawKey]),
    namespace: "ns",
    skewAllowanceSeconds: SKEW,
    ticketTtlSeconds: 15,
  });
  return { store, clock, locks, grants: [], answered: [], tick: 0 };
}

/** Runs one op; expected refusals are swallowed, anything else fails the property. */
async function run(world: World, op: Op): Promise<void> {
  const { locks, grants } = world;
  const pick = (index: number) => grants[index % Math.max(grants.length, 1)];
  const answer = (grant: Grant) => world.answered.push({ token: BigInt(grant.fencingToken), at: ++world.tick });
  try {
    switch (op.kind) {
      case "acquire": {
        const grant = await locks.acquire({ name: LOCK, subject: `caller-${op.caller}`, issuer: "https://idp", ttlSeconds: TTL, metadata: {}, idempotencyKey: op.key });
        grants.push(grant);
        answer(grant);
        return;
      }
      case "renew": {
        const grant = pick(op.grant);
        if (grant) answer(await locks.renew(LOCK, grant.token, undefined));
        return;
      }
      case "release": {
        const grant = pick(op.grant);
        if (grant) await locks.release(LOCK, grant.token);
        return;
      }
      case "advance":
        world.clock.advance(op.seconds);
        return;
      case "forceRelease":
        await locks.forceRelease(LOCK, { subject: "admin", issuer: "https://idp" });
        return;
      case "foreignTakeover": {
        // A client-go elector takes an expired or free Lease over, leaving leasegate's annotations in place.
        const current = await world.store.get(LOCK);
        if (!current || (current.record.holderIdentity && (await locks.state(LOCK))!.status === "held")) return;
        const now = world.clock.now();
        await world.store
          .replace(LOCK, { ...current.record, holderIdentity: "elector", ttlSeconds: TTL, acquiredAt: now, renewedAt: now }, current.resourceVersion)
          .catch((err: unknown) => {
            // Like client-go, it gives up on a conflict: someone else wrote first.
            if (!isStoreError(err, "conflict")) throw err;
          });
        return;
      }
    }
  } catch (err) {
    if (err instanceof LockError && ["held", "lost", "not_holder", "not_found"].includes(err.reason)) return;
    throw err;
  }
}

function expectMonotonic(answered: World["answered"], since: (entry: World["answered"][number]) => boolean = () => true): void {
  let highest = -1n;
  for (const entry of answered) {
    if (!since(entry)) continue;
    expect(entry.token).toBeGreaterThanOrEqual(highest);
    highest = entry.token;
  }
}

describe("fencing tokens over random interleavings", () => {
  it("never go backwards, and a lock token acts on its own grant only", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 40 }), async (ops) => {
        const world = await newWorld();
        for (const op of ops) {
          const before: Versioned | null = await world.store.get(LOCK);
          const target = op.kind === "renew" || op.kind === "release" ? world.grants[op.grant % Math.max(world.grants.length, 1)] : undefined;
          await run(world, op);
          if (target) {
            // The op may change the stored lock only if the lock was held by exactly that grant.
            const after = await world.store.get(LOCK);
            const heldByTarget = before?.record.grant?.fencingToken === target.fencingToken && before.record.holderIdentity === target.holderIdentity;
            if (!heldByTarget) expect(after).toEqual(before);
          }
        }
        expectMonotonic(world.answered);
        // The grant a state read shows carries the fencing token that grant was answered with.
        const state = await world.locks.state(LOCK);
        if (state?.fencingToken) expect(world.grants.some((g) => g.fencingToken === state.fencingToken)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("never go backwards when requests overlap", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArbitrary, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }), async (batches) => {
        const world = await newWorld();
        for (const batch of batches) {
          // Requests in one batch run concurrently; each must answer at least what was answered before the batch began.
          const floor = world.answered.reduce((max, entry) => (entry.token > max ? entry.token : max), -1n);
          const startedAt = world.tick;
          await Promise.all(batch.map((op) => run(world, op)));
          for (const entry of world.answered.filter((e) => e.at > startedAt)) expect(entry.token).toBeGreaterThanOrEqual(floor);
        }
        // At most one grant is live at a time: the store holds one record per lock, so check it is a grant we answered.
        const stored = await world.store.get(LOCK);
        if (stored?.record.grant) expect(world.grants.map((g) => g.fencingToken)).toContain(stored.record.grant.fencingToken);
      }),
      { numRuns: 200 },
    );
  });
});
