import { afterEach, describe, expect, it, vi } from "vitest";
import { randomSecret, TokenKeys } from "../../src/locks/lock-token.ts";

const LOCK = "ns/deploy";
const CURRENT = new Uint8Array(32).fill(1);
const OLDER = new Uint8Array(32).fill(2);
const grant = { fencingToken: "42", secret: randomSecret(), holderIdentity: "ci (team-a:alice)" };

/** How many HMACs the keys compute while `work` runs. */
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

describe("lock tokens", () => {
  it("open to the grant they were issued for, on this lock only, and not once altered", async () => {
    const keys = await TokenKeys.import([CURRENT]);
    const token = await keys.issue(LOCK, grant);
    expect(await keys.open(LOCK, token)).toEqual(grant);
    expect(await keys.open("ns/other", token)).toBeNull();
    const parts = token.split(".");
    expect(await keys.open(LOCK, [...parts.slice(0, 1), "43", ...parts.slice(2)].join("."))).toBeNull();
  });

  it("issued again by one request's keys after opening are the same token, without a second HMAC", async () => {
    const shared = await TokenKeys.import([CURRENT]);
    const token = await shared.issue(LOCK, grant);
    const request = shared.forRequest();
    expect(await request.open(LOCK, token)).toEqual(grant);
    const { result, signatures } = await signaturesDuring(() => request.issue(LOCK, grant));
    expect(result).toBe(token);
    expect(signatures).toBe(0);
  });

  it("for another grant, or from the shared keys, are signed anew", async () => {
    const shared = await TokenKeys.import([CURRENT]);
    const token = await shared.issue(LOCK, grant);
    const request = shared.forRequest();
    await request.open(LOCK, token);
    const other = { ...grant, fencingToken: "43" };
    const { result, signatures } = await signaturesDuring(() => request.issue(LOCK, other));
    expect(signatures).toBe(1);
    expect(await shared.open(LOCK, result)).toEqual(other);

    await shared.open(LOCK, token);
    expect((await signaturesDuring(() => shared.issue(LOCK, grant))).signatures).toBe(1);
  });

  it("signed by an older key open, and are issued again under the current key", async () => {
    const before = await TokenKeys.import([OLDER]);
    const rotated = await TokenKeys.import([CURRENT, OLDER]);
    const old = await before.issue(LOCK, grant);
    const request = rotated.forRequest();
    expect(await request.open(LOCK, old)).toEqual(grant);
    const { result, signatures } = await signaturesDuring(() => request.issue(LOCK, grant));
    expect(signatures).toBe(1);
    expect(result).not.toBe(old);
    expect(result).toBe(await rotated.issue(LOCK, grant));
    expect(await before.open(LOCK, result)).toBeNull();
  });

  it("that fail to open teach one request's keys nothing", async () => {
    const shared = await TokenKeys.import([CURRENT]);
    const stranger = await TokenKeys.import([OLDER]);
    const request = shared.forRequest();
    expect(await request.open(LOCK, await stranger.issue(LOCK, grant))).toBeNull();
    const { result, signatures } = await signaturesDuring(() => request.issue(LOCK, grant));
    expect(signatures).toBe(1);
    expect(await shared.open(LOCK, result)).toEqual(grant);
  });
});
