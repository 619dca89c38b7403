/**
 * A memory cgroup with a limit, to run a gateway the way a pod's container runs it: the kernel
 * enforces the limit and Node sizes V8's heap from it (on a host with plenty of memory V8 lets the
 * heap grow far beyond what a 256 MiB container would allow). Needs a writable cgroup hierarchy
 * (root, cgroup v1 or v2); where there is none, `unavailable` says why and nothing is created.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface MemoryCgroup {
  dir: string;
  /** Processes the kernel killed for running out of memory in this cgroup. */
  oomKills(): number;
  /** Removes the cgroup (its processes must have exited). */
  remove(): void;
}

export function memoryCgroup(name: string, limitBytes: number): MemoryCgroup | { unavailable: string } {
  const v1 = "/sys/fs/cgroup/memory";
  const v2 = "/sys/fs/cgroup";
  try {
    if (existsSync(join(v1, "memory.limit_in_bytes"))) {
      const dir = join(v1, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "memory.limit_in_bytes"), String(limitBytes));
      return cgroupAt(dir, () => counter(join(dir, "memory.oom_control"), "oom_kill"));
    }
    if (readFileSync(join(v2, "cgroup.controllers"), "utf8").split(/\s+/).includes("memory")) {
      writeFileSync(join(v2, "cgroup.subtree_control"), "+memory");
      const dir = join(v2, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "memory.max"), String(limitBytes));
      return cgroupAt(dir, () => counter(join(dir, "memory.events"), "oom_kill"));
    }
    return { unavailable: "no memory cgroup controller on this machine" };
  } catch (err) {
    return { unavailable: `cannot create a memory cgroup here (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
}

function cgroupAt(dir: string, oomKills: () => number): MemoryCgroup {
  return {
    dir,
    oomKills,
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        // still busy for a moment after its last process exited; the name is unique per run
      }
    },
  };
}

/** A `key value` line of a cgroup statistics file. */
function counter(file: string, key: string): number {
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${key} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

/** A Kubernetes memory quantity as the manifests write it (`256Mi`, `1Gi`, or bytes). */
export function memoryQuantityBytes(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!match) throw new Error(`unsupported memory quantity ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[match[2] ?? ""] ?? 1;
  return Number(match[1]) * unit;
}
