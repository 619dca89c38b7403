import { describe, expect, it } from "vitest";
import { describeStanding, ordinal, standingOf } from "../../src/cli/queue-standing.ts";

/** How the CLI words a caller's place in a lock's line, for the progress line and for "not acquired". */
describe("ordinal", () => {
  it.each([
    [1, "1st"],
    [2, "2nd"],
    [3, "3rd"],
    [4, "4th"],
    [10, "10th"],
    [11, "11th"],
    [12, "12th"],
    [13, "13th"],
    [21, "21st"],
    [22, "22nd"],
    [23, "23rd"],
    [101, "101st"],
    [111, "111th"],
    [112, "112th"],
    [1002, "1002nd"],
  ])("writes %i as %s", (n, text) => {
    expect(ordinal(n)).toBe(text);
  });
});

describe("describeStanding", () => {
  const holder = { holder: "deploy #123", subject: "repo:org/app:environment:production", expiresAt: "2026-11-24T14:03:10.512Z" };

  it("puts the place in line first, then who holds the lock until when", () => {
    expect(describeStanding({ ...holder, position: 2, waiters: 4 })).toBe("2nd in line; held by deploy #123 (repo:org/app:environment:production) until 2026-11-24T14:03:10Z");
    expect(describeStanding({ ...holder, position: 1, waiters: 1 }, Date.parse("2026-11-24T14:02:28.000Z"))).toBe(
      "1st in line; held by deploy #123 (repo:org/app:environment:production) until 2026-11-24T14:03:10Z (in 43s)",
    );
  });

  it("says how many are ahead when the lock is free but others come first", () => {
    expect(describeStanding({ position: 3, waiters: 5 })).toBe("3rd in line; free, 2 ahead of you");
    expect(describeStanding({ position: 2, waiters: 2 })).toBe("2nd in line; free, 1 ahead of you");
    expect(describeStanding({ position: 1, waiters: 1 })).toBe("1st in line; free, next to take it");
  });

  it("without a place in line (a single try), names the holder, or the line that keeps a free lock", () => {
    expect(describeStanding(holder)).toBe("held by deploy #123 (repo:org/app:environment:production) until 2026-11-24T14:03:10Z");
    expect(describeStanding({ waiters: 2 })).toBe("free, 2 waiting in line");
    expect(describeStanding({})).toBe("held by another caller");
  });

  it("names another Lease client by its holderIdentity, and says when a hold has run out", () => {
    const lease = { holderIdentity: "kube-controller-manager_1f2e", expiresAt: "2026-11-24T14:03:10Z" };
    expect(describeStanding({ ...lease, position: 1 }, Date.parse("2026-11-24T14:03:20Z"))).toBe(
      "1st in line; held by kube-controller-manager_1f2e until 2026-11-24T14:03:10Z (expired, awaiting takeover)",
    );
  });

  it("escapes what other callers wrote, and shows no number the CLI did not check", () => {
    const hostile = standingOf({
      holder: "x\n::error::forged\u202e",
      subject: "##[add-mask]s",
      expiresAt: "soon\x1b[2J",
      position: "2\n::warning::p",
      waiters: 1e300,
    });
    expect(hostile.position).toBeUndefined();
    expect(hostile.waiters).toBeUndefined();
    expect(describeStanding(hostile, Date.now())).toBe("held by x\\x0a::error::forged\\u{202e} (\\x23#[add-mask]s) until soon\\x1b[2J");
    for (const position of [0, -1, 1.5, Number.NaN, Infinity, "1", null]) expect(standingOf({ position }).position).toBeUndefined();
    expect(standingOf({ position: 7, waiters: 0 })).toMatchObject({ position: 7, waiters: 0 });
  });
});
