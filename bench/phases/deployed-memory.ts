/**
 * The Node gateway's memory as deployed: the same gateway and load (the heaviest throughput
 * configuration) once as a plain process on this machine and once inside a memory cgroup with the
 * Deployment's limit (infra/deploy/node/gateway.yaml), where Node sizes V8's heap from the limit
 * as it does in a pod. Side by side they show what the limit costs in CPU and what it saves.
 */
import type { GatewayHandle } from "../../test/support/gateway.ts";
import { memoryCgroup } from "../lib/memory-cgroup.ts";
import { type ProcMemory, procCpuMs, procMemory } from "../lib/proc.ts";
import { type CycleSide, measureThroughput } from "./throughput.ts";

export interface DeployedMemoryRun {
  id: "host" | "memory limit";
  idle?: ProcMemory;
  /** At the end of the load: VmHWM is the peak. */
  afterLoad?: ProcMemory;
  cyclesPerSecond: number;
  cpuMsPerCycle: number;
  errors: number;
  oomKills: number;
}

export interface DeployedMemoryResult {
  /** The Deployment's memory limit, as written there. */
  limit: string;
  clients: number;
  locks: number;
  runs: DeployedMemoryRun[];
  /** Why the run inside the limit did not happen. */
  unavailable?: string;
}

export async function measureDeployedMemory(opts: {
  limit: string;
  limitBytes: number;
  start: (cgroup: string | undefined) => Promise<GatewayHandle>;
  stop: (gw: GatewayHandle) => Promise<void>;
  side: (gw: GatewayHandle) => CycleSide;
  clients: number;
  locks: number;
  warmupMs: number;
  measureMs: number;
}): Promise<DeployedMemoryResult> {
  const result: DeployedMemoryResult = { limit: opts.limit, clients: opts.clients, locks: opts.locks, runs: [] };
  const cgroup = memoryCgroup(`leasegate-bench-${process.pid}`, opts.limitBytes);
  if ("unavailable" in cgroup) result.unavailable = cgroup.unavailable;
  const settings = [{ id: "host" as const, dir: undefined }, ...("dir" in cgroup ? [{ id: "memory limit" as const, dir: cgroup.dir }] : [])];
  try {
    for (const setting of settings) await measureOne(setting);
  } finally {
    if ("dir" in cgroup) cgroup.remove();
  }
  return result;

  async function measureOne(setting: (typeof settings)[number]): Promise<void> {
    const gw = await opts.start(setting.dir);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const idle = gw.pid ? procMemory(gw.pid) : undefined;
      const cpuBefore = gw.pid ? procCpuMs(gw.pid) : Number.NaN;
      const locks = Array.from({ length: opts.locks }, (_, k) => `dm-${setting.id.replace(" ", "-")}-${k}`);
      const load = await measureThroughput(opts.side(gw), { locks, clients: opts.clients, warmupMs: opts.warmupMs, measureMs: opts.measureMs });
      result.runs.push({
        id: setting.id,
        idle,
        afterLoad: gw.pid ? procMemory(gw.pid) : undefined,
        cyclesPerSecond: load.perSecond,
        cpuMsPerCycle: gw.pid ? (procCpuMs(gw.pid) - cpuBefore) / load.totalCycles : Number.NaN,
        errors: load.errors,
        oomKills: setting.dir && "dir" in cgroup ? cgroup.oomKills() : 0,
      });
    } finally {
      await opts.stop(gw);
    }
  }
}
