import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WaitProgress } from "../../src/cli/wait-progress.ts";

/**
 * The "waiting for <lock>" report: the caller's place in line and the holder, rewritten in place
 * on a terminal, a line every 15 s in logs.
 */
function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, out: { isTTY, columns: 200, write: (text: string) => writes.push(text) } };
}

const held = { holder: "ci-1", subject: "svc-alice", expiresAt: "2026-01-01T00:01:00.000Z" };

describe("WaitProgress", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "setTimeout", "clearTimeout", "Date", "performance"] });
    vi.setSystemTime(new Date("2026-01-01T00:00:00.000Z"));
  });
  afterEach(() => vi.useRealTimers());

  it("rewrites one line every second on a terminal, and clears it when done", () => {
    const { writes, out } = stream(true);
    const progress = new WaitProgress(out, "deploy-prod", 15 * 60_000);
    progress.refused(held);
    expect(writes).toEqual([
      "\r\x1b[2Kleasegate: waiting for deploy-prod: held by ci-1 (svc-alice) until 2026-01-01T00:01:00Z (in 1m00s); waited 0s of 15m00s",
    ]);
    vi.advanceTimersByTime(3000);
    expect(writes).toHaveLength(4);
    expect(writes.every((w) => w.startsWith("\r\x1b[2K") && !w.includes("\n"))).toBe(true);
    expect(writes[3]).toContain("(in 57s); waited 3s of 15m00s");
    progress.stop();
    expect(writes.at(-1)).toBe("\r\x1b[2K");
    vi.advanceTimersByTime(5000);
    expect(writes).toHaveLength(5);
  });

  it("prints a line when waiting starts and then every 15 s in a log", () => {
    const { writes, out } = stream(false);
    const progress = new WaitProgress(out, "deploy-prod", 60_000);
    progress.refused(held);
    vi.advanceTimersByTime(10_000);
    progress.refused({ ...held, holder: "ci-2" });
    expect(writes).toHaveLength(1);
    vi.advanceTimersByTime(5_000);
    expect(writes).toEqual([
      "leasegate: waiting for deploy-prod: held by ci-1 (svc-alice) until 2026-01-01T00:01:00Z (in 1m00s); waited 0s of 1m00s\n",
      "leasegate: waiting for deploy-prod: held by ci-2 (svc-alice) until 2026-01-01T00:01:00Z (in 45s); waited 15s of 1m00s\n",
    ]);
    progress.stop();
    vi.advanceTimersByTime(60_000);
    expect(writes).toHaveLength(2);
  });

  it("shows the place in line before the holder, and the line ahead while the lock is free", () => {
    const { writes, out } = stream(false);
    const progress = new WaitProgress(out, "deploy-prod", 15 * 60_000);
    progress.refused({ ...held, position: 2, waiters: 3 });
    expect(writes).toEqual([
      "leasegate: waiting for deploy-prod: 2nd in line; held by ci-1 (svc-alice) until 2026-01-01T00:01:00Z (in 1m00s); waited 0s of 15m00s\n",
    ]);
    progress.refused({ position: 3, waiters: 3 });
    expect(progress.line()).toBe("leasegate: waiting for deploy-prod: 3rd in line; free, 2 ahead of you; waited 0s of 15m00s");
    progress.stop();
  });

  it("says when the gateway is being retried, and when a grant has expired", () => {
    const { writes, out } = stream(false);
    const progress = new WaitProgress(out, "x", Infinity);
    progress.retrying("backend_unavailable: down (HTTP 503), retrying");
    expect(writes[0]).toBe("leasegate: waiting for x: backend_unavailable: down (HTTP 503), retrying; waited 0s\n");
    progress.refused({ subject: "svc-bob", expiresAt: "2025-12-31T23:59:58.000Z" });
    expect(progress.line()).toBe("leasegate: waiting for x: held by svc-bob until 2025-12-31T23:59:58Z (expired, awaiting takeover); waited 0s");
    progress.stop();
  });
});
