/**
 * Hand-over latency: how soon the next in line is granted a lock its holder releases.
 *
 * Each round, a holder acquires the lock, a waiter asks for it with `waitSeconds` (and its own
 * Idempotency-Key) and is seen in the lock's line (`waiters: 1`), and after a short pause, so
 * that the waiter is watching, the holder releases. The hand-over is the time from the release's
 * answer reaching the holder to the waiter's 200 reaching the waiter, both in this process. The
 * holder and the waiter may talk to different gateway replicas sharing one namespace: the waiter
 * is woken by its Kubernetes watch either way.
 */
import { expectStatus, type GatewayClient } from "../lib/gateway-client.ts";
import { sleep } from "../lib/stats.ts";
import { untilWaiters } from "../lib/until-waiters.ts";
import { waitInLine } from "../lib/wait-in-line.ts";

export interface HandoverSetup {
  id: string;
  /** Where the holder acquires and releases. */
  holder: GatewayClient;
  holderGateway: string;
  /** Where the waiter waits. */
  waiter: GatewayClient;
  waiterGateway: string;
}

export interface HandoverRow {
  id: string;
  holderGateway: string;
  waiterGateway: string;
  /** Release answer → waiter's 200, ms, one per recorded round. */
  handoverMs: number[];
  /** Release sent → waiter's 200, ms. */
  fromReleaseSentMs: number[];
  /** The release's own round trip, ms. */
  releaseMs: number[];
  /** Kubernetes requests of the waiting acquire that was granted (Server-Timing), per round. */
  waiterKubeRequests: number[];
  /** Waiting requests that ended without a grant and were sent again (should be 0). */
  waitsEnded: number;
}

export interface HandoverOptions {
  rounds: number;
  warmup: number;
  /** The waiting request's waitSeconds: far longer than a round, so that a wait never ends in one. */
  waitSeconds: number;
  /** Time between the waiter showing in line and the release. */
  settleMs: number;
  lock: string;
  progress?: (msg: string) => void;
}

export async function measureHandover(setup: HandoverSetup, options: HandoverOptions): Promise<HandoverRow> {
  const row: HandoverRow = {
    id: setup.id,
    holderGateway: setup.holderGateway,
    waiterGateway: setup.waiterGateway,
    handoverMs: [],
    fromReleaseSentMs: [],
    releaseMs: [],
    waiterKubeRequests: [],
    waitsEnded: 0,
  };
  const runId = Date.now().toString(36);
  for (let round = -options.warmup; round < options.rounds; round++) {
    const held = expectStatus(await setup.holder.acquire(options.lock, 30), 200, `${setup.id} holder acquire`);
    const waiting = waitInLine(setup.waiter, options.lock, { key: `ho-${runId}-${round}`, waitSeconds: options.waitSeconds, ttlSeconds: 30 });
    // Awaited below; a failure meanwhile must not go unhandled.
    waiting.catch(() => {});
    await untilWaiters(setup.holder, options.lock, 1);
    await sleep(options.settleMs);
    const releaseSent = performance.now();
    const released = expectStatus(await setup.holder.release(options.lock, held.body.token as string), 200, `${setup.id} holder release`);
    const outcome = await waiting;
    const grant = outcome.grant;
    if (!grant) throw new Error(`${setup.id}: the waiter was not granted`);
    if (round >= 0) {
      row.handoverMs.push(grant.receivedAt - released.receivedAt);
      row.fromReleaseSentMs.push(grant.receivedAt - releaseSent);
      row.releaseMs.push(released.receivedAt - releaseSent);
      row.waiterKubeRequests.push(grant.kubeRequests ?? Number.NaN);
      row.waitsEnded += outcome.waitsEnded;
    }
    expectStatus(await setup.waiter.release(options.lock, grant.body.token as string), 200, `${setup.id} waiter release`);
    if (round > 0 && round % Math.max(1, Math.floor(options.rounds / 4)) === 0) options.progress?.(`hand-over ${setup.id}: ${round}/${options.rounds} rounds`);
  }
  return row;
}
