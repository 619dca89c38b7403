/**
 * Phase 1: apiserver requests per operation, counted independently at an HTTP proxy in front of
 * the apiserver (test/support/fault-proxy.ts, passing everything through). Gateways and the
 * direct client-go-style loop all talk to the apiserver through the proxy; operations run one at
 * a time, and the proxy's counters are reset before each, so every count belongs to one call.
 */
import type { FaultProxy } from "../../test/support/fault-proxy.ts";
import { ClientGoLocker } from "../lib/direct.ts";
import { expectStatus, type GatewayClient } from "../lib/gateway-client.ts";

export type RequestOp = "acquire (new lock)" | "acquire (free lock)" | "acquire (held: refused)" | "renew" | "release";
export const REQUEST_OPS: RequestOp[] = ["acquire (new lock)", "acquire (free lock)", "acquire (held: refused)", "renew", "release"];

export interface OpCount {
  samples: number[];
  /** Requests by HTTP method, summed over all samples. */
  methods: Record<string, number>;
  /** For gateways: how many answers' Server-Timing disagreed with the proxy's count. */
  serverTimingMismatches: number;
}

export type SideCounts = Record<RequestOp, OpCount>;

const emptyCounts = (): SideCounts =>
  Object.fromEntries(REQUEST_OPS.map((op) => [op, { samples: [], methods: {}, serverTimingMismatches: 0 }])) as unknown as SideCounts;

async function counted(proxy: FaultProxy, into: OpCount, call: () => Promise<number | undefined>): Promise<void> {
  proxy.resetCounts();
  const reported = await call();
  const counts = proxy.counts();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  into.samples.push(total);
  for (const [method, n] of Object.entries(counts)) into.methods[method] = (into.methods[method] ?? 0) + n;
  if (reported !== undefined && reported !== total) into.serverTimingMismatches++;
}

/** One gateway: `a` holds, `b` is refused while `a` holds. */
export async function countGateway(proxy: FaultProxy, a: GatewayClient, b: GatewayClient, reps: number, prefix: string): Promise<SideCounts> {
  const out = emptyCounts();
  for (let i = 0; i < reps; i++) {
    const lock = `${prefix}-${i}`;
    let token = "";
    await counted(proxy, out["acquire (new lock)"], async () => {
      const r = expectStatus(await a.acquire(lock, 30), 200, "acquire new");
      token = r.body.token as string;
      return r.kubeRequests;
    });
    await counted(proxy, out.renew, async () => expectStatus(await a.renew(lock, token), 200, "renew").kubeRequests);
    await counted(proxy, out.release, async () => expectStatus(await a.release(lock, token), 200, "release").kubeRequests);
    await counted(proxy, out["acquire (free lock)"], async () => {
      const r = expectStatus(await a.acquire(lock, 30), 200, "acquire free");
      token = r.body.token as string;
      return r.kubeRequests;
    });
    await counted(proxy, out["acquire (held: refused)"], async () => expectStatus(await b.acquire(lock, 30), 409, "acquire held").kubeRequests);
    await counted(proxy, out.release, async () => expectStatus(await a.release(lock, token), 200, "release").kubeRequests);
  }
  return out;
}

export async function countDirect(proxy: FaultProxy, a: ClientGoLocker, b: ClientGoLocker, reps: number, prefix: string): Promise<SideCounts> {
  const out = emptyCounts();
  const expectOk = async (what: string, p: Promise<string>, want = "ok") => {
    const outcome = await p;
    if (outcome !== want) throw new Error(`direct ${what}: ${outcome}`);
    return undefined;
  };
  for (let i = 0; i < reps; i++) {
    const lock = `${prefix}-${i}`;
    await counted(proxy, out["acquire (new lock)"], () => expectOk("acquire new", a.acquire(lock, 30)));
    await counted(proxy, out.renew, () => expectOk("renew", a.renew(lock)));
    await counted(proxy, out.release, () => expectOk("release", a.release(lock)));
    await counted(proxy, out["acquire (free lock)"], () => expectOk("acquire free", a.acquire(lock, 30)));
    await counted(proxy, out["acquire (held: refused)"], () => expectOk("acquire held", b.acquire(lock, 30), "held"));
    await counted(proxy, out.release, () => expectOk("release", a.release(lock)));
  }
  return out;
}
