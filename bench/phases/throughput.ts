/**
 * Phase 3: throughput of acquire→release cycles. C concurrent clients, each with its own
 * identity (and, on the gateway, its own cached JWT), pick one of L locks at random, acquire it
 * and release it. A loser (held, or a lost write race) retries the same lock after a jittered
 * exponential backoff (2 ms doubling to 200 ms, ×0.5–1.5, reset by a success), the same on
 * both sides. Retry-After is deliberately not honoured here: a contended lock is released within
 * milliseconds, while Retry-After counts whole seconds of TTL. Without any backoff, 63 losers
 * spinning on one lock starve the holder's release on a small machine and almost no cycle
 * completes on either side. Only cycles that complete inside the measured window count; a
 * warm-up period before it is not measured.
 */
import { ClientGoLocker } from "../lib/direct.ts";
import type { GatewayClient } from "../lib/gateway-client.ts";
import { sleep } from "../lib/stats.ts";

export interface CycleSide {
  /** Tries once to acquire `lock` as client `i`; a token (or "" for direct) on success, null when lost. */
  tryAcquire(i: number, lock: string): Promise<string | null>;
  /** Releases until done (a lost release race is retried). */
  release(i: number, lock: string, token: string): Promise<void>;
}

export interface ThroughputResult {
  cycles: number;
  /** Every completed cycle, warm-up and stragglers included (for per-cycle CPU cost). */
  totalCycles: number;
  seconds: number;
  perSecond: number;
  /** Acquire attempts that lost (held or lost race) per successful cycle. */
  lossesPerCycle: number;
  errors: number;
  firstError?: string;
}

export function gatewaySide(clients: GatewayClient[], ttlSeconds = 30): CycleSide {
  return {
    async tryAcquire(i, lock) {
      const answer = await clients[i]!.acquire(lock, ttlSeconds);
      if (answer.status === 200) return answer.body.token as string;
      if (answer.status === 409) return null;
      throw new Error(`acquire ${answer.status} ${JSON.stringify(answer.body)}`);
    },
    async release(i, lock, token) {
      for (;;) {
        const answer = await clients[i]!.release(lock, token);
        if (answer.status === 200) return;
        if (answer.status !== 503) throw new Error(`release ${answer.status} ${JSON.stringify(answer.body)}`);
        await sleep(10);
      }
    },
  };
}

export function clientGoSide(lockers: ClientGoLocker[], ttlSeconds = 30): CycleSide {
  return {
    async tryAcquire(i, lock) {
      const outcome = await lockers[i]!.acquire(lock, ttlSeconds);
      return outcome === "ok" ? "" : null;
    },
    async release(i, lock) {
      for (;;) {
        const outcome = await lockers[i]!.release(lock);
        if (outcome === "ok") return;
        if (outcome === "lost") throw new Error("direct release: no longer the holder");
      }
    },
  };
}

/** Jittered exponential backoff after the n-th consecutive lost attempt. */
export function backoffMs(n: number): number {
  return Math.min(200, 2 ** n) * (0.5 + Math.random());
}

export async function measureThroughput(
  side: CycleSide,
  opts: { locks: string[]; clients: number; warmupMs: number; measureMs: number; onMidpoint?: () => void },
): Promise<ThroughputResult> {
  const start = performance.now();
  const windowStart = start + opts.warmupMs;
  const deadline = windowStart + opts.measureMs;
  let cycles = 0;
  let totalCycles = 0;
  let losses = 0;
  let errors = 0;
  let firstError: string | undefined;
  const midpoint = opts.onMidpoint ? setTimeout(opts.onMidpoint, opts.warmupMs + opts.measureMs / 2) : undefined;

  const worker = async (i: number) => {
    while (performance.now() < deadline) {
      const lock = opts.locks[Math.floor(Math.random() * opts.locks.length)]!;
      let token: string | null = null;
      let lost = 0;
      while (token === null && performance.now() < deadline) {
        try {
          token = await side.tryAcquire(i, lock);
          if (token === null) {
            if (performance.now() >= windowStart) losses++;
            lost++;
            await sleep(backoffMs(lost));
          }
        } catch (err) {
          errors++;
          firstError ??= err instanceof Error ? err.message : String(err);
          await sleep(10);
        }
      }
      if (token === null) return;
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          await side.release(i, lock, token);
          break;
        } catch (err) {
          errors++;
          firstError ??= err instanceof Error ? err.message : String(err);
          await sleep(10);
        }
      }
      totalCycles++;
      const now = performance.now();
      if (now >= windowStart && now <= deadline) cycles++;
    }
  };
  await Promise.all(Array.from({ length: opts.clients }, (_, i) => worker(i)));
  clearTimeout(midpoint);
  const seconds = opts.measureMs / 1000;
  return { cycles, totalCycles, seconds, perSecond: cycles / seconds, lossesPerCycle: cycles ? losses / cycles : Number.NaN, errors, firstError };
}
