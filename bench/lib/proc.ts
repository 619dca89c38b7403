/** Linux /proc helpers: which process listens on a port, its memory, CPU time (also per thread) and connections. */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** TCP sockets of the machine (IPv4 and IPv6), from /proc/net. */
function* tcpSockets(): Generator<{ localPort: number; remotePort: number; state: string; inode: string }> {
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const port = (address: string) => Number.parseInt(address.split(":")[1] ?? "", 16);
      yield { localPort: port(cols[1]!), remotePort: port(cols[2]!), state: cols[3]!, inode: cols[9]! };
    }
  }
}

/** Inodes of sockets listening (state 0A) on `port`. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const socket of tcpSockets()) if (socket.localPort === port && socket.state === "0A") inodes.add(socket.inode);
  return inodes;
}

/** The pid of the process listening on `port` (workerd, which Miniflare starts without telling its pid). */
export function pidListeningOn(port: number): number | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        const match = /^socket:\[(\d+)\]$/.exec(target);
        if (match && inodes.has(match[1]!)) return Number(entry);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}

export interface ProcMemory {
  /** Resident set size now, KiB. */
  rssKiB: number;
  /** Peak resident set size since start (VmHWM), KiB. */
  hwmKiB: number;
  openFds: number;
}

export function procMemory(pid: number): ProcMemory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM"), openFds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

/** Established TCP connections from `pid` to `remotePort` on any address. */
export function connectionsTo(pid: number, remotePort: number): number {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1]!);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return Number.NaN;
  }
  let count = 0;
  // State 01 is ESTABLISHED.
  for (const socket of tcpSockets()) if (socket.remotePort === remotePort && socket.state === "01" && inodes.has(socket.inode)) count++;
  return count;
}

/** CPU time (user + system) a process has used so far, in ms (clock-tick resolution, normally 10 ms). */
export function procCpuMs(pid: number): number {
  try {
    return cpuMsOfStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time (user + system) of each of a process's live threads so far, in ms, by thread id, with
 * the thread's name (Node names them MainThread, V8Worker, libuv-worker, ...). Time of threads
 * that have exited counts only in procCpuMs.
 */
export function threadCpuMs(pid: number): Map<number, { name: string; ms: number }> {
  const threads = new Map<number, { name: string; ms: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      threads.set(Number(tid), { name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), ms: cpuMsOfStat(stat) });
    } catch {
      // exited meanwhile
    }
  }
  return threads;
}

/** utime + stime of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat line, in ms. */
function cpuMsOfStat(stat: string): number {
  // After "pid (comm) ", field 3 (state) is index 0; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** USER_HZ: 100 on every mainstream Linux configuration. */
const CLOCK_TICKS = 100;

/** CPU time of this process so far, in ms. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
