/**
 * Phase 4: takeover after a holder stops renewing. The holder acquires with a 2 s TTL and goes
 * silent; a contender starts polling at once and keeps trying until it is granted the lock.
 * Takeover time is measured from the grant's renewTime (the instant the holder's grant was
 * written, on this machine's clock, which the gateway shares) to the contender's successful
 * answer; the excess over the TTL is what the report compares with the target.
 */
import { ClientGoLocker } from "../lib/direct.ts";
import type { GatewayClient } from "../lib/gateway-client.ts";
import { expectStatus } from "../lib/gateway-client.ts";
import { sleep } from "../lib/stats.ts";

export type PollPolicy = "every 100 ms" | "Retry-After";

export interface TakeoverTrial {
  takeoverMs: number;
  polls: number;
}

export async function gatewayTakeover(holder: GatewayClient, contender: GatewayClient, lock: string, ttlSeconds: number, policy: PollPolicy): Promise<TakeoverTrial> {
  const granted = expectStatus(await holder.acquire(lock, ttlSeconds), 200, "holder acquire");
  const renewedAt = Date.parse(granted.body.renewedAt as string);
  let polls = 0;
  for (;;) {
    polls++;
    const answer = await contender.acquire(lock, ttlSeconds);
    if (answer.status === 200) {
      const takeoverMs = Date.now() - renewedAt;
      expectStatus(await contender.release(lock, answer.body.token as string), 200, "contender release");
      return { takeoverMs, polls };
    }
    if (answer.status !== 409) throw new Error(`contender acquire: ${answer.status} ${JSON.stringify(answer.body)}`);
    await sleep(policy === "Retry-After" ? (answer.retryAfterSeconds ?? 1) * 1000 : 100);
  }
}

export async function directTakeover(holder: ClientGoLocker, contender: ClientGoLocker, lock: string, ttlSeconds: number): Promise<TakeoverTrial> {
  const outcome = await holder.acquire(lock, ttlSeconds);
  if (outcome !== "ok") throw new Error(`direct holder acquire: ${outcome}`);
  const lease = await holder.api.readNamespacedLease({ name: lock, namespace: holder.namespace });
  const renewedAt = new Date(lease.spec!.renewTime!).getTime();
  let polls = 0;
  for (;;) {
    polls++;
    if ((await contender.acquire(lock, ttlSeconds)) === "ok") {
      const takeoverMs = Date.now() - renewedAt;
      await contender.release(lock);
      return { takeoverMs, polls };
    }
    await sleep(100);
  }
}
