/** Report: the Node gateway's memory on the host and inside the Deployment's memory limit (phase 5b). */
import type { DeployedMemoryResult, DeployedMemoryRun } from "../phases/deployed-memory.ts";
import { kib, ms, table, verdict } from "./stats.ts";

const peak = (run: DeployedMemoryRun | undefined) => run?.afterLoad?.hwmKiB ?? Number.NaN;

/** Targets rows: idle and peak resident memory inside the Deployment's limit, as a pod runs the gateway. */
export function deployedMemoryTargetRows(d: DeployedMemoryResult | undefined, goals: { idleMiB: number; peakMiB: number }): string[][] {
  if (!d) return [];
  const limited = d.runs.find((r) => r.id === "memory limit");
  const load = `${d.clients} clients on ${d.locks} locks`;
  if (!limited) return [[`Node gateway RSS inside the Deployment's memory limit (${d.limit})`, `not measured: ${d.unavailable ?? "no run"}`, "–", "–"]];
  const idle = limited.idle?.rssKiB ?? Number.NaN;
  return [
    [`Node gateway RSS idle after start, inside the Deployment's memory limit (${d.limit})`, kib(idle), `≤ ${goals.idleMiB} MiB`, verdict(idle <= goals.idleMiB * 1024, `${((idle - goals.idleMiB * 1024) / 1024).toFixed(1)} MiB`)],
    [
      `Node gateway peak RSS (VmHWM) inside the Deployment's memory limit (${d.limit}), ${load}`,
      `${kib(peak(limited))}${limited.oomKills ? `, ${limited.oomKills} OOM kill(s)` : ""}`,
      `≤ ${goals.peakMiB} MiB`,
      limited.oomKills ? `MISS (killed for memory)` : verdict(peak(limited) <= goals.peakMiB * 1024, `${((peak(limited) - goals.peakMiB * 1024) / 1024).toFixed(1)} MiB`),
    ],
  ];
}

export function renderDeployedMemory(d: DeployedMemoryResult | undefined): string[] {
  if (!d) return [];
  const out: string[] = [];
  out.push(
    `The same compiled gateway (\`kubernetes.server\`, default settings) under the heaviest throughput load (${d.clients} clients on ${d.locks} locks), started once as a plain process ` +
      `and once inside a memory cgroup with the Deployment's limit (${d.limit}, infra/deploy/node/gateway.yaml), as its container runs in a pod. ` +
      "Node sizes V8's heap from the memory it can use: on this machine's whole memory it lets the young generation grow to 64 MiB semi-spaces and collects the old one lazily; " +
      "inside the limit both stay small, which costs CPU (more, smaller garbage collections) and saves memory." +
      (d.unavailable ? ` The run inside the limit did not happen: ${d.unavailable}.` : ""),
  );
  out.push("");
  out.push(
    table(
      ["gateway process", "RSS idle", "peak RSS (VmHWM)", "cycles/s", "gateway CPU per cycle", "errors", "OOM kills"],
      d.runs.map((r) => [r.id === "host" ? "plain process" : `inside ${d.limit}`, kib(r.idle?.rssKiB), kib(peak(r)), r.cyclesPerSecond.toFixed(1), `${ms(r.cpuMsPerCycle)} ms`, r.errors, r.oomKills]),
      ["l", "r", "r", "r", "r", "r", "r"],
    ),
  );
  out.push("");
  return out;
}
