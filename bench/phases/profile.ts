/**
 * Phase 9, first part: a CPU profile of one Node gateway under a fixed load. The gateway runs
 * with `node --cpu-prof`, which writes the profile when the process exits; one caller runs
 * sequential acquire → renew → release cycles against it, and only the samples taken while the
 * recorded cycles ran (the profile's clock is the machine's monotonic clock, process.hrtime's)
 * are summarized, so start-up and warm-up stay out. The gateway's CPU time per thread over the
 * same window says how much of its work the profile can see at all: V8 samples the main thread
 * only, while WebCrypto's jobs run on the libuv thread pool and much of GC on V8's own threads.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GatewayHandle } from "../../test/support/gateway.ts";
import { type CpuProfile, type ProfileSummary, summarizeProfile } from "../lib/cpu-profile.ts";
import type { GatewayClient } from "../lib/gateway-client.ts";
import { procCpuMs, threadCpuMs } from "../lib/proc.ts";
import { sleep } from "../lib/stats.ts";
import { gatewayTarget } from "./latency.ts";

export interface ThreadCpu {
  /** The thread's name as Node sets it (MainThread, V8Worker, libuv-worker, ...). */
  name: string;
  threads: number;
  ms: number;
}

export interface ProfileRun {
  cycles: number;
  warmup: number;
  intervalUs: number;
  /** Lock operations in the recorded window (three per cycle). */
  operations: number;
  /** The gateway process's CPU time over the window, every thread (those that exited in it included), ms. */
  processCpuMs: number;
  /** The live threads' CPU time over the window by thread name, most first. */
  threads: ThreadCpu[];
  summary: ProfileSummary;
  /** The .cpuprofile file, when BENCH_PROFILE_DIR asked for it to be kept. */
  keptAt?: string;
}

export interface ProfileOptions {
  /** Starts the gateway with these extra environment variables. */
  start(env: Record<string, string>): Promise<GatewayHandle>;
  /** Stops it gracefully: the profile is written at exit. */
  stop(gw: GatewayHandle): Promise<void>;
  client(gw: GatewayHandle): GatewayClient;
  cycles: number;
  warmup: number;
  /** V8's sampling interval, µs. */
  intervalUs: number;
  /** Kept in the window after the last cycle: lock history is written after the answer. */
  settleMs: number;
  /** Keep the profile in this folder instead of a temporary one that is removed. */
  keepIn?: string;
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

export async function profileGateway(options: ProfileOptions): Promise<ProfileRun> {
  const dir = options.keepIn ?? mkdtempSync(join(tmpdir(), "leasegate-cpu-profile-"));
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  try {
    const gw = await options.start({
      NODE_OPTIONS: [process.env.NODE_OPTIONS, "--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${options.intervalUs}`].filter(Boolean).join(" "),
    });
    const pid = gw.pid;
    if (!pid) throw new Error("the profiled gateway has no process id");
    const cycle = gatewayTarget("profiled gateway", options.client(gw), "profile").cycle;
    for (let i = 0; i < options.warmup; i++) await cycle();

    const threadsBefore = threadCpuMs(pid);
    const cpuBefore = procCpuMs(pid);
    const fromUs = monotonicUs();
    for (let i = 0; i < options.cycles; i++) await cycle();
    await sleep(options.settleMs);
    const toUs = monotonicUs();
    const processCpuMs = procCpuMs(pid) - cpuBefore;
    const threads = threadDeltas(threadsBefore, threadCpuMs(pid));
    await options.stop(gw);

    const written = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile") && !before.has(f));
    if (written.length !== 1) {
      throw new Error(`the profiled gateway wrote ${written.length} CPU profiles to ${dir} at exit, not one (was it stopped gracefully?)`);
    }
    const file = join(dir, written[0]!);
    const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
    const summary = summarizeProfile(profile, { fromUs, toUs });
    if (summary.busySamples === 0) throw new Error(`the CPU profile ${file} has no busy sample in the recorded window`);
    return {
      cycles: options.cycles,
      warmup: options.warmup,
      intervalUs: options.intervalUs,
      operations: 3 * options.cycles,
      processCpuMs,
      threads,
      summary,
      keptAt: options.keepIn ? file : undefined,
    };
  } finally {
    if (!options.keepIn) rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time per thread name between two readings (a thread started in between counts from zero). */
function threadDeltas(before: ReturnType<typeof threadCpuMs>, after: ReturnType<typeof threadCpuMs>): ThreadCpu[] {
  const byName = new Map<string, ThreadCpu>();
  for (const [tid, now] of after) {
    const entry = byName.get(now.name) ?? { name: now.name, threads: 0, ms: 0 };
    entry.threads++;
    entry.ms += now.ms - (before.get(tid)?.ms ?? 0);
    byName.set(now.name, entry);
  }
  // The main thread, V8's and libuv's threads are always shown, idle or not; others only when they worked.
  const always = new Set(["MainThread", "V8Worker", "libuv-worker"]);
  return [...byName.values()].filter((t) => t.ms > 0 || always.has(t.name)).sort((a, b) => b.ms - a.ms);
}
