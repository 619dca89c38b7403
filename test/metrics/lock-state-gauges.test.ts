import { describe, expect, it } from "vitest";
import type { LockState } from "../../src/locks/lock-service.ts";
import { registerLockStateGauges } from "../../src/metrics/lock-state-gauges.ts";
import { Registry } from "../../src/metrics/registry.ts";
import { sampleValues } from "./sample-values.ts";

const lock = (status: LockState["status"], holders: number, waiters: number) =>
  ({ status, holders: Array.from({ length: holders }), queue: Array.from({ length: waiters }) }) as unknown as LockState;

describe("gauges of the locks' state, read at scrape time", () => {
  it("count locks by status, holders and waiters over every page, and reuse a fresh reading", async () => {
    let now = 0;
    const reads: Array<string | undefined> = [];
    const pages = async (cursor: string | undefined) => {
      reads.push(cursor);
      return cursor === undefined
        ? { items: [lock("held", 1, 2), lock("held", 3, 0)], cursor: "page-2" }
        : { items: [lock("expired", 0, 5), lock("free", 0, 0)] };
    };
    const registry = new Registry();
    registerLockStateGauges(registry, pages, { maxAgeMs: 15_000, now: () => now });
    const values = sampleValues(await registry.expose());
    expect(values.get('leasegate_locks{status="held"}')).toBe(2);
    expect(values.get('leasegate_locks{status="expired"}')).toBe(1);
    expect(values.get('leasegate_locks{status="free"}')).toBe(1);
    expect(values.get("leasegate_lock_holders")).toBe(4);
    expect(values.get("leasegate_queue_waiters")).toBe(7);
    expect(values.get("leasegate_queue_longest")).toBe(5);
    expect(values.get("leasegate_lock_state_up")).toBe(1);
    expect(reads).toEqual([undefined, "page-2"]);

    now += 10_000;
    await Promise.all([registry.expose(), registry.expose()]);
    expect(reads).toHaveLength(2);
    now += 10_000;
    await Promise.all([registry.expose(), registry.expose()]);
    expect(reads).toHaveLength(4);
  });

  it("says so when the state cannot be read, and keeps the last numbers", async () => {
    let fail = false;
    const registry = new Registry();
    registerLockStateGauges(
      registry,
      async () => {
        if (fail) throw new Error("apiserver down");
        return { items: [lock("held", 1, 0)] };
      },
      { maxAgeMs: 0 },
    );
    await registry.expose();
    fail = true;
    const values = sampleValues(await registry.expose());
    expect(values.get("leasegate_lock_state_up")).toBe(0);
    expect(values.get('leasegate_locks{status="held"}')).toBe(1);
  });
});
