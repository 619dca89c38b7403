import { beforeEach, describe, expect, it } from "vitest";
import { ListCursors } from "../../src/locks/list-cursor.ts";
import type { LockError } from "../../src/locks/lock-errors.ts";
import type { LockEvent } from "../../src/locks/lock-events.ts";
import { type AcquireRequest, LockService } from "../../src/locks/lock-service.ts";
import { TokenKeys } from "../../src/locks/lock-token.ts";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { answered, pending, settle } from "../support/pending.ts";

const SKEW = 2;
let clock: FakeClock;
let locks: LockService;
let events: LockEvent[];

const request = (subject: string, overrides: Partial<AcquireRequest> = {}): AcquireRequest => ({
  name: "deploy",
  subject,
  issuer: "https://idp",
  label: `${subject}'s run`,
  ttlSeconds: 10,
  metadata: {},
  ...overrides,
});
const kinds = () => events.map((event) => event.kind);

beforeEach(async () => {
  clock = new FakeClock();
  events = [];
  const key = crypto.getRandomValues(new Uint8Array(32));
  locks = new LockService({
    store: new MemoryStore(),
    clock,
    tokens: await TokenKeys.import([key]),
    cursors: await ListCursors.import([key]),
    namespace: "ns",
    skewAllowanceSeconds: SKEW,
    ticketTtlSeconds: 15,
    events: (event) => events.push(event),
  });
});

describe("what the lock service tells of what happened", () => {
  it("tells of a grant and its release, with the holder, the fencing token and how long it held", async () => {
    const grant = await locks.acquire(request("alice"));
    clock.advance(4);
    await locks.release("deploy", grant.token);
    expect(events).toEqual([
      { kind: "acquired", lock: "deploy", at: grant.acquiredAt, holderIdentity: "alice's run (alice)", subject: "alice", issuer: "https://idp", label: "alice's run", fencingToken: grant.fencingToken },
      expect.objectContaining({ kind: "released", holderIdentity: "alice's run (alice)", fencingToken: grant.fencingToken, heldSeconds: 4 }),
    ]);
    // Neither a retry of the same acquisition nor a repeated release happened again.
    await locks.release("deploy", grant.token);
    expect(events).toHaveLength(2);
  });

  it("tells a takeover of a hold whose time ran out, and the loss its holder then meets", async () => {
    const first = await locks.acquire(request("alice"));
    clock.advance(10 + SKEW + 1);
    const second = await locks.acquire(request("bob"));
    await locks.renew("deploy", first.token, undefined).catch(() => undefined);
    expect(kinds()).toEqual(["acquired", "taken_over", "lost"]);
    expect(events[1]).toMatchObject({ subject: "bob", previousHolder: "alice's run (alice)", heldSeconds: 13, fencingToken: second.fencingToken });
    expect(events[2]).toMatchObject({ lock: "deploy", holderIdentity: "alice's run (alice)", fencingToken: first.fencingToken });
  });

  it("tells a force release with the admin and the hold it ended", async () => {
    const grant = await locks.acquire(request("alice"));
    await locks.forceRelease("deploy", { subject: "ops", issuer: "https://idp" });
    expect(events[1]).toMatchObject({ kind: "force_released", previousHolder: "alice's run (alice)", fencingToken: grant.fencingToken, by: { subject: "ops", issuer: "https://idp" } });
  });

  it("tells who joined the line at which place, who left it, and how long a grant from the line waited", async () => {
    const held = await locks.acquire(request("alice", { ttlSeconds: 600 }));
    const bob = pending(locks.acquire(request("bob", { waitMs: 50_000 })));
    await settle();
    const carol = pending(locks.acquire(request("carol", { waitMs: 1000 })));
    await settle();
    clock.advance(1);
    await answered(carol);
    expect(carol.error).toMatchObject({ reason: "held", queue: { position: 2 } });
    await locks.leave({ name: "deploy", subject: "carol", issuer: "https://idp", ticket: (carol.error as LockError).queue!.ticket });
    expect(events.at(-1)).toMatchObject({ kind: "queue_left", lock: "deploy", subject: "carol" });
    expect(events.filter((event) => event.kind === "queue_joined").map((event) => [event.subject, event.position])).toEqual([
      ["bob", 1],
      ["carol", 2],
    ]);
    clock.advance(6);
    await locks.release("deploy", held.token);
    await answered(bob);
    expect(events.at(-1)).toMatchObject({ kind: "acquired", subject: "bob", waitedSeconds: 7 });
  });
});
