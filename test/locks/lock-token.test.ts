import { afterEach, describe, expect, it, vi } from "vitest";
import { ListCursors } from "../../src/locks/list-cursor.ts";
import { LockService } from "../../src/locks/lock-service.ts";
import { randomSecret, TokenKeys } from "../../src/locks/lock-token.ts";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import { FakeClock } from "../support/fake-clock.ts";

const LOCK = "ns/deploy";
const CURRENT = new Uint8Array(32).fill(1);
const OLDER = new Uint8Array(32).fill(2);
const grant = { fencingToken: "42", secret: randomSecret(), holderIdentity: "ci (team-a:alice)" };

/** How many HMACs are computed while `work` runs. */
async function signaturesDuring<T>(work: () => Promise<T>): Promise<{ result: T; signatures: number }> {
  const sign = vi.spyOn(crypto.subtle, "sign");
  try {
    const result = await work();
    return { result, signatures: sign.mock.calls.length };
  } finally {
    sign.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

/** A lock service over the in-memory store with these token keys. */
async function serviceWith(tokens: TokenKeys, store = new MemoryStore()): Promise<LockService> {
  const cursors = await ListCursors.import([CURRENT]);
  return new LockService({ store, clock: new FakeClock(), tokens, cursors, namespace: "ns", skewAllowanceSeconds: 2, ticketTtlSeconds: 15 });
}

const acquireRequest = { name: "deploy", subject: "team-a:alice", issuer: "https://idp", ttlSeconds: 10, metadata: {} };

describe("lock tokens", () => {
  it("open to the grant they were issued for, on this lock only, and not once altered", async () => {
    const keys = await TokenKeys.import([CURRENT]);
    const token = await keys.issue(LOCK, grant);
    expect(await keys.open(LOCK, token)).toEqual({ ...grant, signedByCurrentKey: true });
    expect(await keys.open("ns/other", token)).toBeNull();
    const parts = token.split(".");
    expect(await keys.open(LOCK, [...parts.slice(0, 1), "43", ...parts.slice(2)].join("."))).toBeNull();
  });

  it("signed by an older key open, and say that the current key did not sign them", async () => {
    const before = await TokenKeys.import([OLDER]);
    const rotated = await TokenKeys.import([CURRENT, OLDER]);
    expect(await rotated.open(LOCK, await before.issue(LOCK, grant))).toEqual({ ...grant, signedByCurrentKey: false });
    expect(await rotated.open(LOCK, await rotated.issue(LOCK, grant))).toEqual({ ...grant, signedByCurrentKey: true });
  });

  it("are handed back as they came by a renew, without a second HMAC", async () => {
    const locks = await serviceWith(await TokenKeys.import([CURRENT]));
    const { token } = await locks.acquire(acquireRequest);
    const { result, signatures } = await signaturesDuring(() => locks.renew("deploy", token, undefined));
    expect(result.token).toBe(token);
    expect(signatures).toBe(0);
  });

  it("signed by an older key are signed anew under the current key by a renew", async () => {
    const store = new MemoryStore();
    const { token: old } = await (await serviceWith(await TokenKeys.import([OLDER]), store)).acquire(acquireRequest);
    const rotated = await TokenKeys.import([CURRENT, OLDER]);
    const { result, signatures } = await signaturesDuring(async () => (await serviceWith(rotated, store)).renew("deploy", old, undefined));
    expect(signatures).toBe(1);
    expect(result.token).not.toBe(old);
    expect(await rotated.open("ns/deploy", result.token)).toMatchObject({ signedByCurrentKey: true, fencingToken: result.fencingToken });
    expect(await (await TokenKeys.import([OLDER])).open("ns/deploy", result.token)).toBeNull();
  });

  it("for another grant are signed anew", async () => {
    const keys = await TokenKeys.import([CURRENT]);
    const token = await keys.issue(LOCK, grant);
    await keys.open(LOCK, token);
    const other = { ...grant, fencingToken: "43" };
    const { result, signatures } = await signaturesDuring(() => keys.issue(LOCK, other));
    expect(signatures).toBe(1);
    expect(await keys.open(LOCK, result)).toEqual({ ...other, signedByCurrentKey: true });
  });
});
