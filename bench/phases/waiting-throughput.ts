/**
 * Cycle throughput with waiting clients. C concurrent clients, each with its own identity and
 * cached JWT, pick one of L locks at random and wait for it in line: waiting acquires with one
 * Idempotency-Key per attempt series (a fresh key for every cycle), called again at once after a
 * wait that ended (Retry-After 0); granted, they release at once and start the next cycle. No
 * client polls or backs off: the gateway answers a waiter when the lock is handed to it.
 *
 * Only cycles completed inside the measured window count, after a warm-up that lasts until every
 * client has completed a cycle: the lines are full and turning. When the window closes, every waiting request is cut off, its grant (if one landed unseen) is
 * collected and released, and every other place in line is given up.
 */
import type { GatewayClient } from "../lib/gateway-client.ts";
import { sleep } from "../lib/stats.ts";
import { waitInLine } from "../lib/wait-in-line.ts";

export interface WaitingThroughputResult {
  /** How long the warm-up lasted, and whether it ended because every client had completed a cycle (not at the limit). */
  warmupSeconds: number;
  settled: boolean;
  cycles: number;
  /** Every completed cycle, warm-up and stragglers included (for per-cycle costs). */
  totalCycles: number;
  seconds: number;
  perSecond: number;
  /** Cycles each client completed inside the window. */
  perClient: number[];
  /** For the cycles that began and ended inside the window: from the first waiting request of the series to its grant, ms. */
  waitMs: number[];
  /** Acquire requests per completed cycle (1 when every wait ends in a grant). */
  acquireCallsPerCycle: number;
  /** Waits that ended without a grant (409 `lock_held`, called again at once), in the completed cycles. */
  waitsEnded: number;
  /** 409 `lock_contended` or 503 answers, retried after Retry-After, in the completed cycles. */
  retried: number;
  /** Kubernetes requests per completed cycle, as the gateway reported them (Server-Timing), acquire and release. */
  kubeRequestsPerCycle: number;
  errors: number;
  firstError?: string;
}

export interface WaitingThroughputOptions {
  locks: string[];
  clients: number;
  warmupMs: number;
  /** The longest warm-up: the window opens then even if some client has not completed a cycle yet. */
  warmupLimitMs: number;
  measureMs: number;
  waitSeconds: number;
}

export async function measureWaitingThroughput(clients: GatewayClient[], options: WaitingThroughputOptions): Promise<WaitingThroughputResult> {
  const start = performance.now();
  // Opened by `openWindow()` below; until then every cycle is warm-up.
  let windowStart = Number.POSITIVE_INFINITY;
  let deadline = Number.POSITIVE_INFINITY;
  let settled = false;
  const warmedUp = Array.from({ length: options.clients }, () => false);
  const stop = new AbortController();
  const perClient = Array.from({ length: options.clients }, () => 0);
  const waitMs: number[] = [];
  const runId = Date.now().toString(36);
  let cycles = 0;
  let totalCycles = 0;
  let acquireCalls = 0;
  let waitsEnded = 0;
  let retried = 0;
  let kubeRequests = 0;
  let errors = 0;
  let firstError: string | undefined;
  const failed = (err: unknown) => {
    errors++;
    firstError ??= err instanceof Error ? err.message : String(err);
  };

  const worker = async (i: number) => {
    const client = clients[i]!;
    for (let series = 0; !stop.signal.aborted; series++) {
      const lock = options.locks[Math.floor(Math.random() * options.locks.length)]!;
      const seriesStart = performance.now();
      let outcome;
      try {
        outcome = await waitInLine(client, lock, {
          key: `tw-${runId}-c${i}-${series}`,
          waitSeconds: options.waitSeconds,
          ttlSeconds: 30,
          stop: stop.signal,
        });
      } catch (err) {
        failed(err);
        await sleep(10);
        continue;
      }
      if (!outcome.grant) continue;
      const token = outcome.grant.body.token as string;
      let released = false;
      let releaseRequests = 0;
      for (let attempt = 0; attempt < 50 && !released; attempt++) {
        try {
          const answer = await client.release(lock, token);
          releaseRequests += answer.kubeRequests ?? 0;
          if (answer.status === 200) released = true;
          else if (answer.status === 503) await sleep(10);
          else throw new Error(`release ${answer.status} ${JSON.stringify(answer.body)}`);
        } catch (err) {
          failed(err);
          await sleep(10);
        }
      }
      // A grant collected after the window closed is released, but it is no cycle.
      if (outcome.collectedAfterStop) continue;
      totalCycles++;
      warmedUp[i] = true;
      acquireCalls += outcome.calls;
      waitsEnded += outcome.waitsEnded;
      retried += outcome.retried;
      kubeRequests += outcome.kubeRequests + releaseRequests;
      const now = performance.now();
      if (now >= windowStart && now <= deadline) {
        cycles++;
        perClient[i]!++;
        // Only series that began in the window: their wait is the line's, not the start-up's.
        if (seriesStart >= windowStart) waitMs.push(outcome.grant.receivedAt - seriesStart);
      }
    }
  };
  /**
   * Clients that all start at once race to join the lines (each join marks its lock), and a
   * joining request that loses too often is refused for contention and comes back after
   * Retry-After. The window opens when that start-up is over, the lines are full and turning:
   * after warmupMs, once every client has completed a cycle (or at warmupLimitMs at the latest).
   * Then it lasts measureMs.
   */
  const openWindow = async () => {
    await sleep(options.warmupMs);
    while (!warmedUp.every(Boolean) && performance.now() - start < options.warmupLimitMs) await sleep(50);
    settled = warmedUp.every(Boolean);
    windowStart = performance.now();
    deadline = windowStart + options.measureMs;
    await sleep(options.measureMs);
    stop.abort();
  };
  const workers = Promise.all(Array.from({ length: options.clients }, (_, i) => worker(i)));
  await openWindow();
  await workers;
  const seconds = options.measureMs / 1000;
  return {
    warmupSeconds: (windowStart - start) / 1000,
    settled,
    cycles,
    totalCycles,
    seconds,
    perSecond: cycles / seconds,
    perClient,
    waitMs,
    acquireCallsPerCycle: totalCycles ? acquireCalls / totalCycles : Number.NaN,
    waitsEnded,
    retried,
    kubeRequestsPerCycle: totalCycles ? kubeRequests / totalCycles : Number.NaN,
    errors,
    firstError,
  };
}
