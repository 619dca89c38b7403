/** Linux /proc helpers: which process listens on a port, its memory, CPU time and connections. */
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
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After "pid (comm) ", field 3 (state) is index 0; utime and stime are fields 14 and 15.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on every mainstream Linux configuration. */
const CLOCK_TICKS = 100;

/** CPU time of this process so far, in ms. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
