/** The report's section on where the Node gateway's CPU goes: its CPU profile, and its CPU per operation with history and the access log on and off. */
import type { VariantCpu } from "../phases/gateway-cpu-variants.ts";
import type { ProfileRun } from "../phases/profile.ts";
import { CODE_AREA_SCOPE } from "./code-areas.ts";
import { ms, signedMs, table } from "./stats.ts";

export interface GatewayCpuResults {
  profile?: ProfileRun;
  variants: VariantCpu[];
  variantCycles: number;
  variantWarmup: number;
  /** Cycles per gateway per turn in the variant comparison. */
  variantBlock: number;
  settleMs: number;
}

/** How many functions the top-functions table lists. */
const TOP_FUNCTIONS = 15;

const share = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : "–");

/** What Node's thread names stand for. */
const THREAD_ROLES: Record<string, string> = {
  MainThread: "JavaScript: everything the profile below samples",
  V8Worker: "V8's helpers: concurrent and parallel GC, compiling optimized code",
  "libuv-worker": "libuv's thread pool: WebCrypto jobs (jose's signature checks on a cache miss), file system calls",
  DelayedTaskSche: "V8's delayed task scheduler",
  SignalInspector: "Node's inspector signal thread",
};

export function renderGatewayCpuSection(g: GatewayCpuResults | undefined, section: number): string[] {
  if (!g || (!g.profile && g.variants.length === 0)) return [];
  const out: string[] = [];
  out.push(`## ${section}. Where the gateway's CPU goes`);
  out.push("");
  const p = g.profile;
  if (p) {
    const s = p.summary;
    const perOp = (x: number) => `${ms(x / p.operations, 3)} ms`;
    out.push(
      `One more Node gateway, configured like \`gw-node-server\` (\`kubernetes.server\`, default settings), runs with \`node --cpu-prof\` (one sample every ${p.intervalUs} µs); ` +
        `one caller runs ${p.cycles} sequential acquire → renew → release cycles after ${p.warmup} warm-up cycles. Only the samples taken while the recorded cycles ran ` +
        `(and ${g.settleMs} ms after them, while lock history is written) count: ${s.busySamples} busy samples of ${s.samples} over ${(s.windowMs / 1000).toFixed(1)} s, ` +
        `standing for ${s.busyMs.toFixed(0)} ms of main-thread time (${perOp(s.busyMs)} per operation). ` +
        `The process used ${p.processCpuMs.toFixed(0)} ms of CPU in that window (${perOp(p.processCpuMs)} per operation, the profiler's own cost included).`,
    );
    out.push("");
    out.push(`### CPU time by thread (${p.operations} operations)`);
    out.push("");
    out.push(
      table(
        ["thread name", "threads", "CPU ms", "per operation (ms)", "share of the process", "what runs there"],
        [
          ...p.threads.map((t) => [
            `\`${t.name}\``,
            t.threads,
            t.ms.toFixed(0),
            ms(t.ms / p.operations, 3),
            share(t.ms / p.processCpuMs),
            THREAD_ROLES[t.name] ?? (t.name.startsWith("v8:") ? "the CPU profiler's sampler" : ""),
          ]),
          ["whole process", "", p.processCpuMs.toFixed(0), ms(p.processCpuMs / p.operations, 3), share(1), "every thread, those that ended during the window included"],
        ],
        ["l", "r", "r", "r", "r", "l"],
      ),
    );
    out.push("");
    out.push(
      "From `/proc/<pid>/task/*/stat`, 10 ms resolution per thread, so the rows need not add up to the process exactly. V8's profiler samples only the main thread, so the shares below are " +
        "of the main thread's time: WebCrypto's jobs run on the libuv thread pool and GC partly on V8's worker threads, and the profile shows only the main thread's part in them.",
    );
    out.push("");
    out.push("### By area of the code");
    out.push("");
    out.push(
      "*Inclusive*: the busy samples with the area anywhere on the stack, each sample counted once per area; areas nest (src/http calls src/locks calls src/kube calls undici), " +
        "so the column adds up to more than 100 %, and for \"other\" it is the samples with no other area on the stack. *Self*: the area of the function running when the sample was taken; " +
        "native and WebAssembly frames (`writev`, `JSON.parse`, llhttp) count for the nearest caller with code of its own. Both are shares of the main thread's busy samples.",
    );
    out.push("");
    out.push(
      table(
        ["area", "inclusive", "self", "what it covers"],
        s.areas.map((a) => [a.area, share(a.inclusive), share(a.self), CODE_AREA_SCOPE[a.area]]),
        ["l", "r", "r", "l"],
      ),
    );
    out.push("");
    out.push(`### Top ${TOP_FUNCTIONS} functions by self time`);
    out.push("");
    out.push(
      table(
        ["", "function", "where", "area", "self"],
        s.functions.slice(0, TOP_FUNCTIONS).map((f, i) => [i + 1, `\`${f.name}\``, `\`${f.place}\``, f.area, share(f.self)]),
        ["r", "l", "l", "l", "r"],
      ),
    );
    out.push("");
    out.push(
      "`where` is a file of this repository, a package and the file inside it, or a Node built-in module, each with the function's line; or `(native)` for code outside JavaScript. " +
        "`(program)` is time in V8 and native code that V8 attributes to no function." +
        (p.keptAt ? ` The profile is kept at \`${p.keptAt}\` (open it in Chrome DevTools or VS Code).` : " Set `BENCH_PROFILE_DIR` to keep the `.cpuprofile` for Chrome DevTools or VS Code."),
    );
    out.push("");
  }
  if (g.variants.length) {
    const base = g.variants[0]!;
    out.push("### Lock history and the access log");
    out.push("");
    out.push(
      `The Node gateway process's CPU per lock operation with each of them on and off: ${g.variants.length} fresh gateways (\`kubernetes.server\`, no profiler), ` +
        `each in its own namespace; one caller runs ${g.variantCycles} acquire → renew → release cycles against each after ${g.variantWarmup} warm-up cycles, ` +
        `${g.variantBlock} cycles per gateway per turn in an order rotated every turn. CPU is the process's user + system time from \`/proc/<pid>/stat\` ` +
        `(10 ms resolution) over the recorded cycles and ${g.settleMs} ms after them.`,
    );
    out.push("");
    out.push(
      table(
        ["gateway settings", "added configuration", "CPU per operation (ms)", "vs default", "wall p50 per operation (ms)", "cycles/s", "history: new Events / lock events recorded"],
        g.variants.map((v) => [
          v.id,
          Object.keys(v.config).length ? `\`${JSON.stringify(v.config)}\`` : "–",
          ms(v.cpuMsPerOperation, 3),
          v === base ? "–" : `${signedMs(v.cpuMsPerOperation - base.cpuMsPerOperation, 3)} ms (${signedMs(((v.cpuMsPerOperation - base.cpuMsPerOperation) / base.cpuMsPerOperation) * 100, 0)} %)`,
          ms(v.wallP50Ms),
          v.cyclesPerSecond.toFixed(1),
          `${v.history.events} / ${v.history.occurrences}`,
        ]),
        ["l", "l", "r", "r", "r", "r", "r"],
      ),
    );
    out.push("");
    out.push(
      "The last row has the first row's settings: the difference between those two gateways is the noise of this measurement, and smaller differences between the other rows mean nothing. " +
        "Each cycle is two lock events, the grant and the release (a renewal is none). Lock history writes a repeat of the same event on the same lock by the same holder as an update of " +
        "the first Event's `series`, and repeats within a second as one update, so one caller cycling on one lock costs the history a few apiserver writes a second in all, not one per " +
        "lock event; new Events are further limited to `history.maxEventsPerSecond` (default 5) after a burst of `history.burst` (default 20). Many holders or many locks write more. " +
        "The access log is one JSON line per request on stderr, which the benchmark reads from a pipe.",
    );
    out.push("");
  }
  return out;
}
