import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../src/history/token-bucket.ts";

describe("the rate bound on history Events", () => {
  it("allows a burst, then the rate", () => {
    let now = 0;
    const bucket = new TokenBucket(2, 3, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    expect(bucket.msUntilNext()).toBe(500);
    now += 500;
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    now += 60_000;
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });

  it("gains nothing from a clock that steps back", () => {
    let now = 10_000;
    const bucket = new TokenBucket(1, 1, () => now);
    expect(bucket.take()).toBe(true);
    now = 0;
    expect(bucket.take()).toBe(false);
  });

  it("waits for a token only as long as it is told to", async () => {
    let now = 0;
    const slept: number[] = [];
    const sleep = async (ms: number) => {
      slept.push(ms);
      now += ms;
    };
    const bucket = new TokenBucket(1, 1, () => now);
    expect(await bucket.takeWithin(0, sleep)).toBe(true);
    expect(await bucket.takeWithin(500, sleep)).toBe(false);
    expect(await bucket.takeWithin(1000, sleep)).toBe(true);
    expect(slept).toEqual([1000]);
  });
});
