import type { GatewayClient } from "./gateway-client.ts";
import { sleep } from "./stats.ts";

/** Polls the lock's state until `count` callers are in its line; returns the Kubernetes requests the polls cost. */
export async function untilWaiters(client: GatewayClient, lock: string, count: number, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<number> {
  const { timeoutMs = 30_000, pollMs = 20 } = options;
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  let kubeRequests = 0;
  while (performance.now() < deadline) {
    const state = await client.state(lock);
    kubeRequests += state.kubeRequests ?? 0;
    last = state.body.waiters;
    if (state.status === 200 && last === count) return kubeRequests;
    await sleep(pollMs);
  }
  throw new Error(`${lock}: ${count} waiter(s) expected in line, the lock shows ${String(last)}`);
}
