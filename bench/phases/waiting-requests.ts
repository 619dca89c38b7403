/**
 * apiserver requests while many clients wait for one lock, counted at a streaming pass-through
 * proxy in front of the apiserver (bench/lib/counting-proxy.ts) that only this gateway uses.
 *
 * A holder takes the lock; W waiters (each its own identity, JWT and Idempotency-Key) wait for it
 * in line until all W show in the lock's line and none has been refused for contention for a
 * while (joining: W simultaneous joins race to mark the lock, and a joining request that loses
 * too often is answered `lock_contended` and comes back after Retry-After). Then nothing happens
 * for the steady window but waiting: every request the gateway sends the apiserver meanwhile is the cost of
 * waiting itself. Then the holder releases and every waiter, granted in turn, releases at once
 * (draining): W hand-overs, each timed from the previous release's answer to the next grant.
 *
 * For reference, the same steady window with W client-go-style contenders that poll the held
 * Lease directly, the way client-go's leader election retries: every RetryPeriod (2 s), jittered
 * by up to 1.2 × RetryPeriod (wait.JitterUntil with leaderelection's JitterFactor).
 */
import type { ClientGoLocker } from "../lib/direct.ts";
import { type CountingProxy, difference, type ProxyCounts } from "../lib/counting-proxy.ts";
import { expectStatus, type GatewayAnswer, type GatewayClient } from "../lib/gateway-client.ts";
import { sleep } from "../lib/stats.ts";
import { untilWaiters } from "../lib/until-waiters.ts";
import { waitInLine } from "../lib/wait-in-line.ts";

export interface Interval {
  seconds: number;
  counts: ProxyCounts;
}

export interface WaitingRequestsRow {
  id: string;
  waiters: number;
  waitSeconds: number;
  /**
   * Joining: until every waiter is in line, SETTLE_MIN_MS more, and then for QUIET_MS nobody wrote
   * the lock (a joining request marks it) and nobody was refused for contention.
   * Its `counts.total` is less the benchmark's own state polls (its `byTarget` is not).
   */
  join: Interval;
  /** When every waiter showed in line. */
  inLineSeconds: number;
  /** False when lock writes or contention refusals went on until SETTLE_LIMIT_MS: the steady window then is not quiet. */
  settled: boolean;
  /** Answers other than 200 to waiting requests while joining, by status and code. */
  refusalsInJoin: Record<string, number>;
  /** Only waiting. */
  steady: Interval;
  /** Watches open at the proxy during the steady window, sampled. */
  openWatches: { min: number; max: number };
  /** From the holder's release until the last waiter released. */
  drain: Interval;
  /** Previous release's answer → next grant, ms, one per hand-over in the drain. */
  handoverMs: number[];
  /**
   * Kubernetes requests the gateway reported (Server-Timing) over the whole run, and the Lease
   * requests the proxy counted then (Events the gateway's lock history writes after an answer are
   * in no answer's count).
   */
  serverTimingTotal: number;
  proxyLeases: number;
  /** Answers other than 200 to waiting requests during the steady window, over all waiters, by status and code (e.g. `409 lock_held`). */
  refusalsInSteady: Record<string, number>;
  refusalsInDrain: Record<string, number>;
}

const SETTLE_MIN_MS = 10_000;
const QUIET_MS = 2000;
const SETTLE_LIMIT_MS = 40_000;

export interface WaitingRequestsOptions {
  id: string;
  proxy: CountingProxy;
  holder: GatewayClient;
  waiters: GatewayClient[];
  lock: string;
  waitSeconds: number;
  steadyMs: number;
  progress?: (msg: string) => void;
}

export async function measureWaitingRequests(options: WaitingRequestsOptions): Promise<WaitingRequestsRow> {
  const { proxy, holder, lock } = options;
  const runId = Date.now().toString(36);
  const start = proxy.counts();
  let serverTiming = 0;
  const reported = (answer: GatewayAnswer) => {
    serverTiming += answer.kubeRequests ?? 0;
    return answer;
  };
  const held = expectStatus(reported(await holder.acquire(lock, Math.ceil(options.steadyMs / 1000) + 120)), 200, `${options.id} holder acquire`);

  // Answers other than 200 to waiting requests, by stage; contention (not a wait that ended) keeps the joining stage going.
  const refusals = { join: {} as Record<string, number>, steady: {} as Record<string, number>, drain: {} as Record<string, number> };
  let stage: keyof typeof refusals = "join";
  let lastContention = performance.now();
  const turns: Array<{ grantedAt: number; releasedAt: number }> = [];
  const waiting = options.waiters.map(async (client, i) => {
    const outcome = await waitInLine(client, lock, {
      key: `wr-${runId}-${i}`,
      waitSeconds: options.waitSeconds,
      ttlSeconds: 30,
      onAnswer: (answer) => {
        if (answer.status === 200) return;
        const key = `${answer.status} ${String(answer.body.code ?? "")}`.trim();
        refusals[stage][key] = (refusals[stage][key] ?? 0) + 1;
        if (answer.body.code !== "lock_held") lastContention = performance.now();
      },
    });
    serverTiming += outcome.kubeRequests;
    const grant = outcome.grant!;
    const released = expectStatus(reported(await client.release(lock, grant.body.token as string)), 200, `${options.id} waiter release`);
    turns.push({ grantedAt: grant.receivedAt, releasedAt: released.receivedAt });
  });
  // Awaited below; a failure meanwhile must not go unhandled.
  const all = Promise.all(waiting);
  all.catch(() => {});

  const polls = await untilWaiters(holder, lock, options.waiters.length, { timeoutMs: 120_000, pollMs: 100 });
  serverTiming += polls;
  const inLine = performance.now();
  // A joining request marks the lock after creating its ticket, racing the others, and one that
  // loses too often is answered lock_contended and comes back after Retry-After; a renewed ticket
  // wakes the waiter behind it, and a waiting request that found nothing changed pauses up to 5 s
  // before it watches again. The line is settled SETTLE_MIN_MS after every waiter is in it, once,
  // for QUIET_MS, nobody has written the lock and nobody has been refused for contention (or, at
  // the latest, SETTLE_LIMIT_MS after every waiter is in it).
  let lockWrites = proxy.counts().byTarget["patch lock"] ?? 0;
  let lastLockWrite = performance.now();
  const quietFor = () => performance.now() - Math.max(lastContention, lastLockWrite);
  const settling = () => performance.now() - inLine < SETTLE_MIN_MS || quietFor() < QUIET_MS;
  while (settling() && performance.now() - inLine < SETTLE_LIMIT_MS) {
    await sleep(100);
    const writes = proxy.counts().byTarget["patch lock"] ?? 0;
    if (writes !== lockWrites) [lockWrites, lastLockWrite] = [writes, performance.now()];
  }
  const settled = quietFor() >= QUIET_MS;
  const joined = proxy.counts();
  const join = difference(joined, start);
  join.total -= polls;
  join.leases -= polls;
  options.progress?.(
    `  ${options.id}: ${options.waiters.length} waiters in line after ${((inLine - start.at) / 1000).toFixed(1)} s, ` +
      `${settled ? "settled" : "NOT settled"} after ${(join.at / 1000).toFixed(1)} s; steady for ${options.steadyMs / 1000} s`,
  );

  stage = "steady";
  const watches = { min: Number.POSITIVE_INFINITY, max: 0 };
  const sampler = setInterval(() => {
    const open = proxy.openWatches();
    watches.min = Math.min(watches.min, open);
    watches.max = Math.max(watches.max, open);
  }, 250);
  await sleep(options.steadyMs);
  clearInterval(sampler);
  const steadyEnd = proxy.counts();
  stage = "drain";

  const released = expectStatus(reported(await holder.release(lock, held.body.token as string)), 200, `${options.id} holder release`);
  await all;
  const drained = proxy.counts();

  turns.sort((a, b) => a.grantedAt - b.grantedAt);
  const handoverMs = turns.map((turn, k) => turn.grantedAt - (k === 0 ? released.receivedAt : turns[k - 1]!.releasedAt));
  return {
    id: options.id,
    waiters: options.waiters.length,
    waitSeconds: options.waitSeconds,
    join: { seconds: join.at / 1000, counts: join },
    inLineSeconds: (inLine - start.at) / 1000,
    settled,
    refusalsInJoin: refusals.join,
    steady: { seconds: (steadyEnd.at - joined.at) / 1000, counts: difference(steadyEnd, joined) },
    openWatches: { min: Number.isFinite(watches.min) ? watches.min : Number.NaN, max: watches.max },
    drain: { seconds: (drained.at - steadyEnd.at) / 1000, counts: difference(drained, steadyEnd) },
    handoverMs,
    serverTimingTotal: serverTiming,
    proxyLeases: drained.leases - start.leases,
    refusalsInSteady: refusals.steady,
    refusalsInDrain: refusals.drain,
  };
}

export interface DirectPollingRow {
  id: string;
  contenders: number;
  retryPeriodMs: number;
  steady: Interval;
}

/** W client-go-style contenders retry a held Lease directly, through the proxy, for the steady window. */
export async function measureDirectPolling(options: {
  proxy: CountingProxy;
  holder: ClientGoLocker;
  contenders: ClientGoLocker[];
  lock: string;
  steadyMs: number;
  retryPeriodMs?: number;
  jitterFactor?: number;
}): Promise<DirectPollingRow> {
  const retryPeriodMs = options.retryPeriodMs ?? 2000;
  const jitterFactor = options.jitterFactor ?? 1.2;
  const outcome = await options.holder.acquire(options.lock, Math.ceil(options.steadyMs / 1000) + 120);
  if (outcome !== "ok") throw new Error(`direct holder acquire: ${outcome}`);
  let stopped = false;
  const contending = options.contenders.map(async (contender) => {
    while (!stopped) {
      const tried = await contender.acquire(options.lock, 15);
      if (tried !== "held" && tried !== "conflict") throw new Error(`direct contender acquire: ${tried}`);
      await sleep(retryPeriodMs + Math.random() * jitterFactor * retryPeriodMs);
    }
  });
  const all = Promise.all(contending);
  all.catch(() => {});
  // The contenders' first tries all come at once; the window starts when they have spread out.
  await sleep(retryPeriodMs * (1 + jitterFactor));
  const before = options.proxy.counts();
  await sleep(options.steadyMs);
  const after = options.proxy.counts();
  stopped = true;
  await all;
  await options.holder.release(options.lock);
  return {
    id: "direct client-go-style contenders",
    contenders: options.contenders.length,
    retryPeriodMs,
    steady: { seconds: (after.at - before.at) / 1000, counts: difference(after, before) },
  };
}
