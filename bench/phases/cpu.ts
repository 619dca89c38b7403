/**
 * CPU time per operation, one cycle after another after a warm-up, measured the same way for
 * every target: the gateway's app in this process (called through `app.request`, no HTTP hop)
 * over the in-memory store and over Kubernetes, the direct caller making the same Kubernetes
 * requests, and the Node gateway processes called over HTTP by one client. Each runs on its own,
 * so the CPU time of the process measured belongs to that target alone (for this process, plus
 * the benchmark's own bookkeeping, the same for all).
 */
import { selfCpuMs } from "../lib/proc.ts";
import { summarize } from "../lib/stats.ts";
import type { LatencyTarget } from "./latency.ts";

/** The measurements' names, which the report's targets look up. */
export const CPU_IDS = {
  appOverMemory: "app over in-memory store",
  appOverKube: "app over Kubernetes (server transport)",
  directSameServer: "direct, same Kubernetes requests (server transport)",
  directSameKubeconfig: "direct, same Kubernetes requests (kubeconfig transport)",
  gatewayProcessServer: "gateway process `gw-node-server`, called over HTTP",
  gatewayProcessKubeconfig: "gateway process `gw-node-kc`, called over HTTP",
} as const;

export interface CpuResult {
  id: string;
  cpuMsPerOperation: number;
  wallP50Ms: number;
}

/** `cpuMs` is the CPU clock of the process doing the work: this one, or a gateway's (its /proc time). */
export async function measureCpu(targets: LatencyTarget[], cycles: number, warmup: number, cpuMs: () => number = selfCpuMs): Promise<CpuResult[]> {
  const out: CpuResult[] = [];
  for (const target of targets) {
    for (let i = 0; i < warmup; i++) await target.cycle();
    const walls: number[] = [];
    const before = cpuMs();
    for (let i = 0; i < cycles; i++) walls.push(...(await target.cycle()));
    out.push({ id: target.id, cpuMsPerOperation: (cpuMs() - before) / (3 * cycles), wallP50Ms: summarize(walls).p50 });
  }
  return out;
}
