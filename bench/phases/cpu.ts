/**
 * Diagnostic: CPU time per operation in this process, for the gateway's app (called through
 * `app.request`, no HTTP hop) over the in-memory store and over Kubernetes, and for the direct
 * caller making the same Kubernetes requests. Each runs on its own, one cycle after another, so
 * this process's CPU time (process.cpuUsage) belongs to that target alone (plus the benchmark's
 * own bookkeeping, the same for all three).
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
} as const;

export interface CpuResult {
  id: string;
  cpuMsPerOperation: number;
  wallP50Ms: number;
}

export async function measureCpu(targets: LatencyTarget[], cycles: number, warmup: number): Promise<CpuResult[]> {
  const out: CpuResult[] = [];
  for (const target of targets) {
    for (let i = 0; i < warmup; i++) await target.cycle();
    const walls: number[] = [];
    const before = selfCpuMs();
    for (let i = 0; i < cycles; i++) walls.push(...(await target.cycle()));
    out.push({ id: target.id, cpuMsPerOperation: (selfCpuMs() - before) / (3 * cycles), wallP50Ms: summarize(walls).p50 });
  }
  return out;
}
