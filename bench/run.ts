/**
 * leasegate benchmarks against direct Lease use, on the real local kube-apiserver + etcd.
 *
 *   npm run bench                 full run (about 15 minutes), writes docs/benchmarks.md
 *   BENCH_QUICK=1 npm run bench   small iteration counts (about 6 minutes), same report
 *   BENCH_PHASES=handover,waiting-requests npm run bench
 *                                 only the phases named (see PHASES), report on stdout only;
 *                                 docs/benchmarks.md is left alone unless BENCH_REPORT names it
 *   BENCH_REPORT=/tmp/b.md        where the report is written (default docs/benchmarks.md for a run of every phase)
 *   BENCH_PROFILE_DIR=/tmp/prof   keep the profile phase's .cpuprofile there (default: removed after it is summarized)
 *
 * `npm run bench` starts the test cluster and sets LEASEGATE_TEST_CLUSTER and
 * NODE_EXTRA_CA_CERTS; this file runs every phase side by side and writes the report.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { clusterInfo, kubectlJson, newTestNamespace } from "../test/support/cluster.ts";
import { startFaultProxy } from "../test/support/fault-proxy.ts";
import { execFileSync } from "node:child_process";
import { gatewayBearerToken, type GatewayHandle, type GatewayOptions, startNodeGateway as startGatewayProcess, startWorkerGateway, TEST_TOKEN_KEY, workerBundle } from "../test/support/gateway.ts";
import { startOidcIssuer } from "../test/support/oidc-issuer.ts";
import {
  ClientGoLocker,
  clientNodeLeaseApi,
  clientNodeLeaseApiFor,
  gatewayServerTransport,
  gatewayKubeconfigTransport,
  SameCallsLocker,
} from "./lib/direct.ts";
import { loadConfig } from "../src/config/load.ts";
import { createGateway } from "../src/gateway.ts";
import { KubeLeaseStore } from "../src/kube/lease-store.ts";
import type { LockStore } from "../src/locks/lock-store.ts";
import { MemoryStore } from "../src/locks/memory-store.ts";
import { nodeSha256 } from "../src/node/node-sha256.ts";
import { GatewayClient } from "./lib/gateway-client.ts";
import { connectionsTo, pidListeningOn, procCpuMs, procMemory, selfCpuMs } from "./lib/proc.ts";
import { renderReport, type BenchResults, type MemoryResult, type ThroughputRow, type TakeoverRow } from "./lib/report.ts";
import { countDirect, countGateway } from "./phases/requests.ts";
import { clientGoTarget, gatewayTarget, hopProbe, measureLatency, sameCallsTarget } from "./phases/latency.ts";
import { CPU_IDS, measureCpu } from "./phases/cpu.ts";
import { clientGoSide, gatewaySide, measureThroughput } from "./phases/throughput.ts";
import { directTakeover, gatewayTakeover, type PollPolicy } from "./phases/takeover.ts";
import { startCountingProxy } from "./lib/counting-proxy.ts";
import type { WaitingResults } from "./lib/report-waiting.ts";
import { type HandoverSetup, measureHandover } from "./phases/handover.ts";
import { measureWaitingThroughput } from "./phases/waiting-throughput.ts";
import { type DeployedMemoryResult, measureDeployedMemory } from "./phases/deployed-memory.ts";
import { memoryQuantityBytes } from "./lib/memory-cgroup.ts";
import { GATEWAY_MANIFEST, manifestObject } from "../test/infra/manifest-files.ts";
import { measureDirectPolling, measureWaitingRequests } from "./phases/waiting-requests.ts";
import { profileGateway } from "./phases/profile.ts";
import { GATEWAY_VARIANTS, measureGatewayVariants, type VariantGateway } from "./phases/gateway-cpu-variants.ts";
import { measureWorkerBundle } from "./phases/worker-bundle.ts";
import type { GatewayCpuResults } from "./lib/report-cpu.ts";

const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const PARAMS = QUICK
  ? {
      requestReps: 3,
      latencyRounds: 30,
      latencyWarmup: 8,
      cpuCycles: 60,
      cpuWarmup: 20,
      throughputWarmupMs: 300,
      throughputMs: 800,
      takeoverTrials: 1,
      profileCycles: 100,
      profileWarmup: 20,
      variantCycles: 100,
      variantWarmup: 20,
      coldStarts: 3,
    }
  : {
      requestReps: 20,
      latencyRounds: 300,
      latencyWarmup: 30,
      cpuCycles: 400,
      // The optimizing compiler needs a few hundred calls of the hot paths before their cost settles.
      cpuWarmup: 200,
      throughputWarmupMs: 1000,
      throughputMs: 5000,
      takeoverTrials: 4,
      profileCycles: 300,
      profileWarmup: 50,
      variantCycles: 500,
      variantWarmup: 50,
      coldStarts: 5,
    };
/**
 * The profile phase: V8's sampling interval (µs), cycles per gateway per turn in the settings
 * comparison, and the wait after the last cycle for lock history (a repeat is written up to 1 s later).
 */
const PROFILE = { intervalUs: 500, variantBlock: 10, settleMs: 1500 };
const WAITING_PARAMS: WaitingResults["params"] = QUICK
  ? { handoverRounds: 8, handoverWarmup: 2, handoverWaitSeconds: 20, handoverSettleMs: 100, waitingWarmupMs: 1500, waitingWarmupLimitMs: 15000, waitingMs: 4000, waitingWaitSeconds: 50, steadyMs: 5000 }
  : { handoverRounds: 40, handoverWarmup: 3, handoverWaitSeconds: 20, handoverSettleMs: 100, waitingWarmupMs: 2000, waitingWarmupLimitMs: 25000, waitingMs: 15000, waitingWaitSeconds: 50, steadyMs: 20000 };
const LOCK_COUNTS = [1, 10, 100];
const CLIENT_COUNTS = [1, 8, 64];
/** Cycle throughput with waiting clients: these lock and client counts (each also in LOCK_COUNTS × CLIENT_COUNTS, whose direct loop it is compared with). */
const WAITING_LOCK_COUNTS = [1, 10];
const WAITING_CLIENT_COUNTS = [8, 64];
/** apiserver requests while this many clients wait for one lock: per gateway, the waitSeconds of their requests. */
const STEADY_WAITERS = 64;
const STEADY_ROWS: Array<{ runtime: "node" | "workerd"; waitSeconds: number }> = [
  // What `leasegate run` asks for: no wait ends within the steady window.
  { runtime: "node", waitSeconds: 50 },
  // Waits end every 5 s and are called again: the cost of each further request of a series.
  { runtime: "node", waitSeconds: 5 },
  { runtime: "workerd", waitSeconds: 50 },
];

/** The phases, in the order they run; BENCH_PHASES picks some of them. */
const PHASES = ["requests", "latency", "throughput", "waiting-throughput", "deployed-memory", "takeover", "handover", "waiting-requests", "profile", "worker-bundle"] as const;
type Phase = (typeof PHASES)[number];
const CHOSEN = chosenPhases(process.env.BENCH_PHASES);
const runs = (phase: Phase) => CHOSEN.includes(phase);
const PARTIAL = CHOSEN.length < PHASES.length;
const TAKEOVER_TTL_SECONDS = 2;
const AUDIENCE = "leasegate";
/** A run of only some phases writes no file unless told where: docs/benchmarks.md describes a run of all. */
const REPORT_PATH = process.env.BENCH_REPORT || (PARTIAL ? undefined : fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url)));

const started = Date.now();

/** Everything started that must be stopped, also when a phase fails. */
interface Stoppable {
  stop?(): Promise<void>;
  close?(): Promise<void>;
}
const running = new Set<Stoppable>();
async function track<T extends Stoppable>(handle: Promise<T>): Promise<T> {
  const h = await handle;
  running.add(h);
  return h;
}
async function stop(handle: Stoppable): Promise<void> {
  running.delete(handle);
  await (handle.stop ?? handle.close)?.call(handle);
}
const progress = (msg: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);

/**
 * Node gateways run as the container image runs them: the compiled JavaScript of `npm run build`
 * (no type stripping at start, about 25 MiB less resident memory than `node src/node.ts`).
 */
const NODE_ENTRY = "dist/gateway/node.js";
const startNodeGateway = (options: GatewayOptions) => startGatewayProcess({ ...options, entry: NODE_ENTRY });

/**
 * The direct client-go-style loop writes a whole Lease (PUT) after every read, as client-go's
 * leader election does; the gateway's Role has no `update` (the gateway never sends one), so the
 * loop's namespaces grant it to the same ServiceAccount.
 */
async function allowLeaseUpdates(namespace: string): Promise<void> {
  const objects = [
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "direct-loop", namespace }, rules: [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["update"] }] },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "direct-loop", namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "direct-loop" },
      subjects: [{ kind: "ServiceAccount", name: "leasegate", namespace: "leasegate" }],
    },
  ];
  await kubectlJson(["apply", "-f", "-", "-o", "json"], { stdin: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) });
}

async function main(): Promise<void> {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: fileURLToPath(new URL("..", import.meta.url)), stdio: "inherit" });
  const cluster = clusterInfo();
  const apiserverPort = Number(new URL(cluster.server).port);
  const kubeToken = gatewayBearerToken();
  const loadBefore = os.loadavg();
  const kubeVersion = await apiserverVersion(cluster.server, kubeToken);
  progress(`${QUICK ? "quick" : "full"} run${PARTIAL ? ` of ${CHOSEN.join(", ")}` : ""} against kube-apiserver ${kubeVersion} at ${cluster.server}`);

  const issuer = await track(startOidcIssuer({ defaultAudience: AUDIENCE }));
  const gatewayConfig = (skewAllowanceSeconds?: number) => ({
    issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
    policy: [{ match: { sub: "bench-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
    ...(skewAllowanceSeconds === undefined ? {} : { skewAllowanceSeconds }),
  });
  const maxClients = Math.max(...CLIENT_COUNTS, STEADY_WAITERS);
  // One JWT per client, minted once and reused: what a real client does with its token.
  const jwts = await Promise.all(Array.from({ length: maxClients + 2 }, (_, i) => issuer.mint({ sub: `bench-c${i}` }, { expiresIn: 3 * 3600 })));
  const clientsOf = (gw: GatewayHandle) => jwts.map((jwt) => new GatewayClient(gw.url, jwt));
  const namespaces = (...prefixes: string[]) =>
    Promise.all(
      prefixes.map(async (prefix) => {
        const namespace = await newTestNamespace(prefix);
        if (prefix.includes("direct")) await allowLeaseUpdates(namespace);
        return namespace;
      }),
    );

  // ---- 1. apiserver requests per operation, counted at a proxy ----
  const requestCounts: BenchResults["requests"] = {};
  if (runs("requests")) {
    progress("phase 1: apiserver requests per operation (counted at the proxy)");
    const [nsReqNode, nsReqWorkerd, nsReqDirect] = (await namespaces("b-req-node", "b-req-wd", "b-req-direct")) as [string, string, string];
    const proxy = await track(startFaultProxy(cluster.server, cluster.caFile));
    // The lock operations' own requests: lock history Events, written after the answer, would land
    // in the next operation's count (their cost is in section 8).
    const noHistory = { ...gatewayConfig(), history: { enabled: false } };
    const reqNode = await track(startNodeGateway({ namespace: nsReqNode, config: noHistory, server: proxy.url }));
    const reqWorkerd = await track(startWorkerGateway({ namespace: nsReqWorkerd, config: noHistory, server: proxy.url }));
    try {
      const [a, b] = clientsOf(reqNode);
      requestCounts["gateway (Node)"] = await countGateway(proxy, a!, b!, PARAMS.requestReps, "rq");
      const [wa, wb] = clientsOf(reqWorkerd);
      requestCounts["gateway (workerd)"] = await countGateway(proxy, wa!, wb!, PARAMS.requestReps, "rq");
      const directApi = clientNodeLeaseApiFor(proxy.url, kubeToken);
      requestCounts["direct client-go-style loop"] = await countDirect(
        proxy,
        new ClientGoLocker(directApi, nsReqDirect, "direct-a"),
        new ClientGoLocker(directApi, nsReqDirect, "direct-b"),
        PARAMS.requestReps,
        "rq",
      );
    } finally {
      await Promise.all([stop(reqNode), stop(reqWorkerd)]);
      await stop(proxy);
    }
  }

  // ---- 2. latency, 3. throughput, 7. throughput with waiting clients: gateways pointed straight at the apiserver ----
  let latency: Awaited<ReturnType<typeof measureLatency>> = { samples: {}, probes: {} };
  let latencyCpu: BenchResults["latencyCpu"] = [];
  let cpu: BenchResults["cpu"] = [];
  const throughput: ThroughputRow[] = [];
  const waitingThroughput: WaitingResults["waitingThroughput"] = [];
  let memory: MemoryResult[] = [];
  if (runs("latency") || runs("throughput") || runs("waiting-throughput")) {
    const [nsNodeKc, nsNodeServer, nsDirect] = (await namespaces("b-node-kc", "b-node-server", "b-direct")) as [string, string, string];
    progress("phase 2: starting gateways");
    const gwNodeKc = await track(startNodeGateway({ namespace: nsNodeKc, config: gatewayConfig() }));
    const gwNodeServer = await track(startNodeGateway({ namespace: nsNodeServer, config: gatewayConfig(), server: cluster.server }));
    memory = [
      { id: "gw-node-kc", label: "gateway Node, kubeconfig transport", pid: gwNodeKc.pid, samples: {}, peakConnections: 0, peakConnectionsAt: "" },
      { id: "gw-node-server", label: "gateway Node, `kubernetes.server` (undici)", pid: gwNodeServer.pid, samples: {}, peakConnections: 0, peakConnectionsAt: "" },
    ];
    const sampleMemory = (when: string) => {
      for (const m of memory) if (m.pid) m.samples[when] = procMemory(m.pid);
    };
    sampleMemory("idle after start");
    const kcApi = clientNodeLeaseApi(cluster.gatewayKubeconfig);
    const keepAliveApi = clientNodeLeaseApiFor(cluster.server, kubeToken);

    if (runs("latency")) {
      const [nsWorkerd] = (await namespaces("b-wd")) as [string];
      const gwWorkerd = await track(startWorkerGateway({ namespace: nsWorkerd, config: gatewayConfig() }));

      /** The gateway's app itself in this process, over the Node transport for `kubernetes.server`, as the Node entry builds it (access log discarded). */
      const inProcessGateway = async (store: LockStore = new KubeLeaseStore(gatewayServerTransport(cluster.server, kubeToken), nsDirect)) => {
        const loaded = loadConfig({
          LEASEGATE_CONFIG: JSON.stringify({ ...gatewayConfig(), namespace: nsDirect, kubernetes: { server: cluster.server } }),
          LEASEGATE_TOKEN_KEYS: TEST_TOKEN_KEY,
          LEASEGATE_KUBE_TOKEN: kubeToken,
        });
        const app = await createGateway({ loaded, store, env: {}, log: () => {}, sha256: nodeSha256 });
        return new GatewayClient("http://in-process", jwts[0]!, async (input, init) => app.request(input, init));
      };

      const latencyTargets = [
        clientGoTarget("direct-cg-kc", new ClientGoLocker(kcApi, nsDirect, "direct-lat"), "lat-cg-kc"),
        clientGoTarget("direct-cg-ka", new ClientGoLocker(keepAliveApi, nsDirect, "direct-lat"), "lat-cg-ka"),
        sameCallsTarget("direct-same-kc", new SameCallsLocker(gatewayKubeconfigTransport(cluster.gatewayKubeconfig), nsDirect, "bench-lat"), "lat-same-kc"),
        sameCallsTarget("direct-same-server", new SameCallsLocker(gatewayServerTransport(cluster.server, kubeToken), nsDirect, "bench-lat"), "lat-same-server"),
        gatewayTarget("gw-node-kc", clientsOf(gwNodeKc)[0]!, "lat"),
        gatewayTarget("gw-node-server", clientsOf(gwNodeServer)[0]!, "lat"),
        gatewayTarget("gw-workerd", clientsOf(gwWorkerd)[0]!, "lat"),
        // Diagnostic: the gateway's app in this process, no HTTP hop and no second process.
        gatewayTarget("app-in-process", await inProcessGateway(), "lat-in-process"),
      ];
      const probes = [hopProbe("hop-node", gwNodeServer.url), hopProbe("hop-workerd", gwWorkerd.url)];
      const gatewayPids = [
        { id: "gw-node-kc", pid: memory[0]!.pid },
        { id: "gw-node-server", pid: memory[1]!.pid },
        { id: "gw-workerd", pid: pidListeningOn(Number(new URL(gwWorkerd.url).port)) },
      ];
      let cpuBefore: number[] = [];
      progress(`phase 2: latency, ${PARAMS.latencyRounds} rounds over ${latencyTargets.length} targets`);
      latency = await measureLatency(latencyTargets, probes, PARAMS.latencyRounds, PARAMS.latencyWarmup, progress, () => {
        cpuBefore = gatewayPids.map((g) => (g.pid ? procCpuMs(g.pid) : Number.NaN));
      });
      const lockOperations = 3 * PARAMS.latencyRounds;
      latencyCpu = gatewayPids.map((g, i) => ({
        id: g.id,
        cpuMsPerOperation: g.pid ? (procCpuMs(g.pid) - cpuBefore[i]!) / lockOperations : Number.NaN,
      }));
      sampleMemory("after latency phase");
      for (const [gw, pid] of [[gwNodeKc, memory[0]!.pid], [gwNodeServer, memory[1]!.pid]] as const) assertAlive(gw, pid);
      await stop(gwWorkerd);

      progress("phase 2b: CPU per operation, one caller back to back (in process, then the Node gateways)");
      cpu = await measureCpu(
        [
          gatewayTarget(CPU_IDS.appOverMemory, await inProcessGateway(new MemoryStore()), "cpu-memory"),
          gatewayTarget(CPU_IDS.appOverKube, await inProcessGateway(), "cpu-app"),
          sameCallsTarget(CPU_IDS.directSameServer, new SameCallsLocker(gatewayServerTransport(cluster.server, kubeToken), nsDirect, "bench-cpu"), "cpu-same"),
          sameCallsTarget(
            CPU_IDS.directSameKubeconfig,
            new SameCallsLocker(gatewayKubeconfigTransport(cluster.gatewayKubeconfig), nsDirect, "bench-cpu"),
            "cpu-same-kc",
          ),
        ],
        PARAMS.cpuCycles,
        PARAMS.cpuWarmup,
      );
      // The Node gateways measured the same way (one caller, back to back, after the same warm-up): the like-for-like figure for the CPU target.
      for (const [id, gw, pid] of [
        [CPU_IDS.gatewayProcessServer, gwNodeServer, memory[1]!.pid],
        [CPU_IDS.gatewayProcessKubeconfig, gwNodeKc, memory[0]!.pid],
      ] as const) {
        if (pid) cpu.push(...(await measureCpu([gatewayTarget(id, clientsOf(gw)[0]!, "cpu-gw")], PARAMS.cpuCycles, PARAMS.cpuWarmup, () => procCpuMs(pid))));
      }
    }

    // ---- 3. throughput of acquire→release cycles ----
    const pairs = [
      {
        id: "kubeconfig",
        gateway: gwNodeKc,
        mem: memory[0]!,
        direct: Array.from({ length: maxClients }, (_, i) => new ClientGoLocker(kcApi, nsDirect, `direct-c${i}`)),
      },
      {
        id: "keep-alive",
        gateway: gwNodeServer,
        mem: memory[1]!,
        direct: Array.from({ length: maxClients }, (_, i) => new ClientGoLocker(keepAliveApi, nsDirect, `direct-c${i}`)),
      },
    ];
    if (runs("throughput")) {
      const totalConfigs = pairs.length * LOCK_COUNTS.length * CLIENT_COUNTS.length;
      let configIndex = 0;
      for (const pair of pairs) {
        const gwSide = gatewaySide(clientsOf(pair.gateway));
        const directSide = clientGoSide(pair.direct);
        for (const locks of LOCK_COUNTS) {
          for (const clients of CLIENT_COUNTS) {
            configIndex++;
            progress(`phase 3: throughput ${configIndex}/${totalConfigs}: ${pair.id}, ${locks} lock(s), ${clients} client(s)`);
            const names = (side: string) => Array.from({ length: locks }, (_, k) => `tp-${pair.id}-${side}-${locks}-${clients}-${k}`);
            const timing = { clients, warmupMs: PARAMS.throughputWarmupMs, measureMs: PARAMS.throughputMs };
            const directCpu = selfCpuMs();
            const direct = await measureThroughput(directSide, { ...timing, locks: names("d") });
            const directClientMs = selfCpuMs() - directCpu;
            const gatewayCpu = [selfCpuMs(), pair.mem.pid ? procCpuMs(pair.mem.pid) : Number.NaN];
            const gateway = await measureThroughput(gwSide, {
              ...timing,
              locks: names("g"),
              onMidpoint: () => {
                if (!pair.mem.pid) return;
                const conns = connectionsTo(pair.mem.pid, apiserverPort);
                if (conns > pair.mem.peakConnections) {
                  pair.mem.peakConnections = conns;
                  pair.mem.peakConnectionsAt = `${locks} lock(s), ${clients} client(s)`;
                }
                const now = procMemory(pair.mem.pid);
                const heaviest = pair.mem.samples["under load (64 clients, 100 locks), RSS"];
                if (locks === 100 && clients === 64 && now && !heaviest) pair.mem.samples["under load (64 clients, 100 locks), RSS"] = now;
              },
            });
            const cpuUsed = {
              directClientMs,
              gatewayClientMs: selfCpuMs() - gatewayCpu[0]!,
              gatewayProcessMs: pair.mem.pid ? procCpuMs(pair.mem.pid) - gatewayCpu[1]! : Number.NaN,
            };
            throughput.push({ pair: pair.id, locks, clients, gateway, direct, cpu: cpuUsed });
            assertAlive(pair.gateway, pair.mem.pid);
            progress(`  direct ${direct.perSecond.toFixed(1)}/s, gateway ${gateway.perSecond.toFixed(1)}/s (${(gateway.perSecond / direct.perSecond).toFixed(2)}×)`);
          }
        }
      }
      sampleMemory("after throughput phase");
    }

    // ---- 7. throughput with clients that wait in line instead of polling (run while the gateways of 2 and 3 are up) ----
    if (runs("waiting-throughput")) {
      const totalConfigs = pairs.length * WAITING_LOCK_COUNTS.length * WAITING_CLIENT_COUNTS.length;
      let configIndex = 0;
      for (const pair of pairs) {
        for (const locks of WAITING_LOCK_COUNTS) {
          for (const clients of WAITING_CLIENT_COUNTS) {
            configIndex++;
            progress(`phase 7: throughput with waiting clients ${configIndex}/${totalConfigs}: ${pair.id}, ${locks} lock(s), ${clients} client(s)`);
            const names = (side: string) => Array.from({ length: locks }, (_, k) => `tw-${pair.id}-${side}-${locks}-${clients}-${k}`);
            // The direct loop of section 3 for the same configuration, or, when that phase did not run, measured here the same way.
            const earlier = throughput.find((t) => t.pair === pair.id && t.locks === locks && t.clients === clients);
            const direct =
              earlier?.direct ??
              (await measureThroughput(clientGoSide(pair.direct), { clients, warmupMs: PARAMS.throughputWarmupMs, measureMs: PARAMS.throughputMs, locks: names("d") }));
            const before = [selfCpuMs(), pair.mem.pid ? procCpuMs(pair.mem.pid) : Number.NaN];
            const waiting = await measureWaitingThroughput(clientsOf(pair.gateway).slice(0, clients), {
              locks: names("w"),
              clients,
              warmupMs: WAITING_PARAMS.waitingWarmupMs,
              warmupLimitMs: WAITING_PARAMS.waitingWarmupLimitMs,
              measureMs: WAITING_PARAMS.waitingMs,
              waitSeconds: WAITING_PARAMS.waitingWaitSeconds,
            });
            const cpuUsed = { clientMs: selfCpuMs() - before[0]!, gatewayProcessMs: pair.mem.pid ? procCpuMs(pair.mem.pid) - before[1]! : Number.NaN };
            waitingThroughput.push({ pair: pair.id, locks, clients, waiting, direct, directFrom: earlier ? "section 3" : "measured here", polling: earlier?.gateway, cpu: cpuUsed });
            assertAlive(pair.gateway, pair.mem.pid);
            const per = waiting.perClient;
            progress(
              `  warm-up ${waiting.warmupSeconds.toFixed(1)} s${waiting.settled ? "" : " (limit: not every client had a cycle)"}; ` +
                `direct ${direct.perSecond.toFixed(1)}/s${earlier ? ", polling " + earlier.gateway.perSecond.toFixed(1) + "/s" : ""}, waiting ${waiting.perSecond.toFixed(1)}/s ` +
                `(${(waiting.perSecond / direct.perSecond).toFixed(2)}× direct), cycles per client ${Math.min(...per)}–${Math.max(...per)}, errors ${waiting.errors}`,
            );
          }
        }
      }
    }
    await Promise.all([stop(gwNodeKc), stop(gwNodeServer)]);
    // Memory is reported for a run under the whole throughput load only.
    if (!runs("throughput")) memory = [];
  }

  // ---- 5b. memory as deployed: the heaviest throughput load on the host and inside the Deployment's memory limit ----
  let deployedMemory: DeployedMemoryResult | undefined;
  if (runs("deployed-memory")) {
    const limit: string = manifestObject(GATEWAY_MANIFEST, "Deployment").spec.template.spec.containers[0].resources.limits.memory;
    progress(`phase 5b: Node gateway memory on the host and inside the Deployment's memory limit (${limit}), the heaviest throughput load`);
    const [nsDeployed] = (await namespaces("b-deployed")) as [string];
    deployedMemory = await measureDeployedMemory({
      limit,
      limitBytes: memoryQuantityBytes(limit),
      start: (cgroup) => track(startNodeGateway({ namespace: nsDeployed, config: gatewayConfig(), server: cluster.server, cgroup })),
      stop,
      side: (gw) => gatewaySide(clientsOf(gw)),
      clients: Math.max(...CLIENT_COUNTS),
      locks: Math.max(...LOCK_COUNTS),
      warmupMs: PARAMS.throughputWarmupMs,
      measureMs: PARAMS.throughputMs,
    });
    for (const run of deployedMemory.runs) {
      progress(`  ${run.id}: idle ${run.idle?.rssKiB} KiB, peak ${run.afterLoad?.hwmKiB} KiB, ${run.cyclesPerSecond.toFixed(1)} cycles/s, ${run.cpuMsPerCycle.toFixed(2)} ms CPU per cycle, OOM kills ${run.oomKills}`);
    }
    if (deployedMemory.unavailable) progress(`  inside the limit: not measured, ${deployedMemory.unavailable}`);
  }

  // ---- 4. takeover after the holder stops renewing ----
  const takeover: TakeoverRow[] = [];
  if (runs("takeover")) {
    progress("phase 4: takeover after a holder goes silent");
    const [nsTo0, nsTo2, nsToW, nsDirectTo] = (await namespaces("b-to-0", "b-to-2", "b-to-wd", "b-to-direct")) as [string, string, string, string];
    const keepAliveApi = clientNodeLeaseApiFor(cluster.server, kubeToken);
    const to0 = await track(startNodeGateway({ namespace: nsTo0, config: gatewayConfig(0) }));
    const to2 = await track(startNodeGateway({ namespace: nsTo2, config: gatewayConfig() }));
    const toW = await track(startWorkerGateway({ namespace: nsToW, config: gatewayConfig(0) }));
    try {
      const policies: PollPolicy[] = ["every 100 ms", "Retry-After"];
      const setups = [
        { who: "gateway Node", skew: 0, gw: to0 },
        { who: "gateway workerd", skew: 0, gw: toW },
        { who: "gateway Node", skew: 2, gw: to2 },
      ];
      for (const setup of setups) {
        const [holder, contender] = clientsOf(setup.gw);
        for (const policy of policies) {
          const row: TakeoverRow = { who: setup.who, skewAllowanceSeconds: setup.skew, policy, ttlSeconds: TAKEOVER_TTL_SECONDS, trials: [] };
          for (let t = 0; t < PARAMS.takeoverTrials; t++) {
            const lock = `to-${policy === "Retry-After" ? "ra" : "poll"}-${t}`;
            row.trials.push(await gatewayTakeover(holder!, contender!, lock, TAKEOVER_TTL_SECONDS, policy));
          }
          takeover.push(row);
          progress(`  ${setup.who}, allowance ${setup.skew} s, ${policy}: ${row.trials.map((t) => `${(t.takeoverMs / 1000).toFixed(2)} s`).join(", ")}`);
        }
      }
      const row: TakeoverRow = { who: "direct client-go-style loop", skewAllowanceSeconds: null, policy: "every 100 ms", ttlSeconds: TAKEOVER_TTL_SECONDS, trials: [] };
      for (let t = 0; t < PARAMS.takeoverTrials; t++) {
        row.trials.push(
          await directTakeover(new ClientGoLocker(keepAliveApi, nsDirectTo, "direct-holder"), new ClientGoLocker(keepAliveApi, nsDirectTo, "direct-contender"), `to-direct-${t}`, TAKEOVER_TTL_SECONDS),
        );
      }
      takeover.push(row);
      progress(`  direct, 100 ms polling: ${row.trials.map((t) => `${(t.takeoverMs / 1000).toFixed(2)} s`).join(", ")}`);
    } finally {
      await Promise.all([stop(to0), stop(to2), stop(toW)]);
    }
  }

  // ---- 6. hand-over latency: a waiter in line is granted when the holder releases ----
  const handover: WaitingResults["handover"] = [];
  if (runs("handover")) {
    progress("phase 6: hand-over latency (starting gateways in one namespace)");
    const [nsHandover] = (await namespaces("b-handover")) as [string];
    const hoNodeKc = await track(startNodeGateway({ namespace: nsHandover, config: gatewayConfig() }));
    const hoNodeServer = await track(startNodeGateway({ namespace: nsHandover, config: gatewayConfig(), server: cluster.server }));
    const hoWorkerd = await track(startWorkerGateway({ namespace: nsHandover, config: gatewayConfig() }));
    try {
      const client = (gw: GatewayHandle, i: number) => new GatewayClient(gw.url, jwts[i]!);
      const setups: HandoverSetup[] = [
        { id: "Node (kubeconfig)", holder: client(hoNodeKc, 0), holderGateway: "gw-node-kc", waiter: client(hoNodeKc, 1), waiterGateway: "gw-node-kc" },
        { id: "Node (server)", holder: client(hoNodeServer, 0), holderGateway: "gw-node-server", waiter: client(hoNodeServer, 1), waiterGateway: "gw-node-server" },
        { id: "workerd", holder: client(hoWorkerd, 0), holderGateway: "gw-workerd", waiter: client(hoWorkerd, 1), waiterGateway: "gw-workerd" },
        { id: "Node → workerd", holder: client(hoNodeKc, 0), holderGateway: "gw-node-kc", waiter: client(hoWorkerd, 1), waiterGateway: "gw-workerd" },
        { id: "workerd → Node", holder: client(hoWorkerd, 0), holderGateway: "gw-workerd", waiter: client(hoNodeKc, 1), waiterGateway: "gw-node-kc" },
      ];
      for (const [k, setup] of setups.entries()) {
        const row = await measureHandover(setup, {
          rounds: WAITING_PARAMS.handoverRounds,
          warmup: WAITING_PARAMS.handoverWarmup,
          waitSeconds: WAITING_PARAMS.handoverWaitSeconds,
          settleMs: WAITING_PARAMS.handoverSettleMs,
          lock: `ho-${k}`,
          progress,
        });
        handover.push(row);
        const sorted = [...row.handoverMs].sort((a, b) => a - b);
        progress(`  ${setup.id}: hand-over p50 ${sorted[Math.ceil(sorted.length / 2) - 1]?.toFixed(1)} ms, max ${sorted[sorted.length - 1]?.toFixed(1)} ms`);
      }
    } finally {
      await Promise.all([stop(hoNodeKc), stop(hoNodeServer), stop(hoWorkerd)]);
    }
  }

  // ---- 8. apiserver requests while clients wait, counted at a streaming proxy ----
  const waitingRequests: WaitingResults["waitingRequests"] = [];
  let directPolling: WaitingResults["directPolling"];
  if (runs("waiting-requests")) {
    progress(`phase 8: apiserver requests while ${STEADY_WAITERS} clients wait for one lock`);
    for (const [k, row] of STEADY_ROWS.entries()) {
      const [ns] = (await namespaces(`b-wr-${row.runtime}`)) as [string];
      const proxy = await track(startCountingProxy(cluster.server, cluster.caFile));
      const start = row.runtime === "node" ? startNodeGateway : startWorkerGateway;
      const gw = await track(start({ namespace: ns, config: gatewayConfig(), server: proxy.url }));
      try {
        const clients = clientsOf(gw);
        const id = row.runtime === "node" ? "Node (server)" : "workerd";
        progress(`  ${id}, waitSeconds ${row.waitSeconds}`);
        const measured = await measureWaitingRequests({
          id,
          proxy,
          holder: clients[STEADY_WAITERS]!,
          waiters: clients.slice(0, STEADY_WAITERS),
          lock: `wr-${k}`,
          waitSeconds: row.waitSeconds,
          steadyMs: WAITING_PARAMS.steadyMs,
          progress,
        });
        waitingRequests.push(measured);
        progress(
          `  steady ${(measured.steady.counts.total / measured.steady.seconds).toFixed(2)} requests/s, ${measured.openWatches.max} watches open; ` +
            `drain ${measured.drain.counts.total} requests for ${measured.handoverMs.length} hand-overs`,
        );
      } finally {
        await stop(gw);
        await stop(proxy);
      }
    }
    progress(`  reference: ${STEADY_WAITERS} direct client-go-style contenders`);
    const [nsPoll] = (await namespaces("b-wr-direct")) as [string];
    const proxy = await track(startCountingProxy(cluster.server, cluster.caFile));
    try {
      const api = clientNodeLeaseApiFor(proxy.url, kubeToken);
      directPolling = await measureDirectPolling({
        proxy,
        holder: new ClientGoLocker(api, nsPoll, "direct-holder"),
        contenders: Array.from({ length: STEADY_WAITERS }, (_, i) => new ClientGoLocker(api, nsPoll, `direct-poll-${i}`)),
        lock: "wr-direct",
        steadyMs: WAITING_PARAMS.steadyMs,
      });
      progress(`  direct contenders: ${(directPolling.steady.counts.total / directPolling.steady.seconds).toFixed(2)} requests/s`);
    } finally {
      await stop(proxy);
    }
  }

  // ---- 9. where the gateway's CPU goes ----
  let gatewayCpu: GatewayCpuResults | undefined;
  if (runs("profile")) {
    progress(`phase 9: CPU profile of a Node gateway (kubernetes.server), ${PARAMS.profileCycles} cycles after ${PARAMS.profileWarmup}`);
    const [nsProfile] = (await namespaces("b-prof")) as [string];
    const profile = await profileGateway({
      start: (env) => track(startNodeGateway({ namespace: nsProfile, config: gatewayConfig(), server: cluster.server, env })),
      stop,
      client: (gw) => clientsOf(gw)[0]!,
      cycles: PARAMS.profileCycles,
      warmup: PARAMS.profileWarmup,
      intervalUs: PROFILE.intervalUs,
      settleMs: PROFILE.settleMs,
      keepIn: process.env.BENCH_PROFILE_DIR || undefined,
    });
    const top = profile.summary.functions.slice(0, 3).map((f) => `${f.name} ${(f.self * 100).toFixed(1)} %`);
    progress(`  ${profile.summary.busySamples} busy samples, ${(profile.processCpuMs / profile.operations).toFixed(2)} ms CPU per operation; top: ${top.join(", ")}`);
    if (profile.keptAt) progress(`  profile kept at ${profile.keptAt}`);

    progress(`phase 9: gateway CPU per operation with history and the access log on and off, ${PARAMS.variantCycles} cycles each`);
    const variantNamespaces = await namespaces(...GATEWAY_VARIANTS.map((_, i) => `b-var-${i}`));
    const variantGateways = await Promise.all(
      GATEWAY_VARIANTS.map((variant, i) => track(startNodeGateway({ namespace: variantNamespaces[i]!, config: { ...gatewayConfig(), ...variant.config }, server: cluster.server }))),
    );
    try {
      const subjects: VariantGateway[] = GATEWAY_VARIANTS.map((variant, i) => ({
        variant,
        client: clientsOf(variantGateways[i]!)[0]!,
        pid: variantGateways[i]!.pid,
        history: () => lockHistoryIn(variantNamespaces[i]!),
      }));
      const variants = await measureGatewayVariants(subjects, {
        cycles: PARAMS.variantCycles,
        warmup: PARAMS.variantWarmup,
        block: PROFILE.variantBlock,
        settleMs: PROFILE.settleMs,
      });
      for (const gw of variantGateways) assertAlive(gw, gw.pid);
      for (const v of variants) {
        progress(`  ${v.id}: ${v.cpuMsPerOperation.toFixed(2)} ms CPU per operation; history: ${v.history.events} new Events, ${v.history.occurrences} lock events recorded`);
      }
      gatewayCpu = {
        profile,
        variants,
        variantCycles: PARAMS.variantCycles,
        variantWarmup: PARAMS.variantWarmup,
        variantBlock: PROFILE.variantBlock,
        settleMs: PROFILE.settleMs,
      };
    } finally {
      await Promise.all(variantGateways.map((gw) => stop(gw)));
    }
  }

  // ---- 10. the Worker bundle and workerd's cold start ----
  let workerBundleResult: BenchResults["workerBundle"];
  if (runs("worker-bundle")) {
    progress(`phase 10: Worker bundle size and workerd cold start (${PARAMS.coldStarts} starts)`);
    const [nsCold] = (await namespaces("b-cold")) as [string];
    workerBundleResult = await measureWorkerBundle({
      bundlePath: await workerBundle(),
      starts: PARAMS.coldStarts,
      start: () => track(startWorkerGateway({ namespace: nsCold, config: gatewayConfig() })),
      stop,
    });
    progress(
      `  ${workerBundleResult.bytes} bytes (gzip ${workerBundleResult.gzipBytes}); cold starts ${workerBundleResult.starts.map((s) => `${s.healthyMs.toFixed(0)} ms`).join(", ")}`,
    );
  }
  await stop(issuer);

  // ---- report ----
  const cpus = os.cpus();
  const results: BenchResults = {
    quick: QUICK,
    phases: PARTIAL ? [...CHOSEN] : undefined,
    date: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: {
      cpuModel: cpus[0]?.model.trim() ?? "unknown",
      cpuCount: cpus.length,
      totalMemGiB: os.totalmem() / 1024 ** 3,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      kube: kubeVersion,
      loadBefore,
      loadAfter: os.loadavg(),
    },
    params: { ...PARAMS, lockCounts: LOCK_COUNTS, clientCounts: CLIENT_COUNTS },
    requests: requestCounts,
    latency: latency.samples,
    hop: latency.probes,
    latencyCpu,
    cpu,
    throughput,
    takeover,
    memory,
    deployedMemory,
    waiting: { params: WAITING_PARAMS, handover, waitingThroughput, waitingRequests, directPolling },
    gatewayCpu,
    workerBundle: workerBundleResult,
  };
  const markdown = renderReport(results);
  if (REPORT_PATH) writeFileSync(REPORT_PATH, markdown);
  process.stdout.write(`${markdown}\n`);
  progress(REPORT_PATH ? `wrote ${REPORT_PATH}` : "report on stdout only (a run of only some phases; BENCH_REPORT names a file)");
}

/** BENCH_PHASES: a comma-separated list of phase names; empty or absent for all of them. */
function chosenPhases(value: string | undefined): Phase[] {
  const names = (value ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) return [...PHASES];
  const unknown = names.filter((name) => !(PHASES as readonly string[]).includes(name));
  if (unknown.length) throw new Error(`BENCH_PHASES: unknown phase(s) ${unknown.join(", ")}; the phases are ${PHASES.join(", ")}`);
  return PHASES.filter((phase) => names.includes(phase));
}

/** The apiserver's /version; a source build reports v0.0.0-master, so the module it was built from is named too. */
async function apiserverVersion(server: string, token: string): Promise<string> {
  const reported = await fetch(`${server}/version`, { headers: { authorization: `Bearer ${token}` } })
    .then((r) => r.json() as Promise<{ gitVersion?: string }>)
    .then((v) => v.gitVersion ?? "unknown")
    .catch(() => "unknown");
  if (!reported.startsWith("v0.0.0")) return reported;
  try {
    const goMod = readFileSync(fileURLToPath(new URL("../infra/test-cluster/go.mod", import.meta.url)), "utf8");
    const built = /^\s*k8s\.io\/kubernetes (v\S+)/m.exec(goMod)?.[1];
    return built ? `${built} (k8s.io/kubernetes module, built from source)` : reported;
  } catch {
    return reported;
  }
}

/** The lock history Events in a namespace, and the lock events they record (a series counts its repeats). */
async function lockHistoryIn(namespace: string): Promise<{ events: number; occurrences: number }> {
  const list = (await kubectlJson(["get", "events.events.k8s.io", "-n", namespace, "-o", "json"])) as { items: Array<{ series?: { count?: number } }> };
  return { events: list.items.length, occurrences: list.items.reduce((sum, e) => sum + (e.series?.count ?? 1), 0) };
}

/** Stops the run with the gateway's own last words when its process has gone away. */
function assertAlive(gw: GatewayHandle, pid: number | undefined): void {
  if (!pid || existsSync(`/proc/${pid}`)) return;
  const tail = gw
    .logs()
    .split("\n")
    .filter((line) => line && !line.includes('"msg":"request"'))
    .slice(-20)
    .join("\n");
  throw new Error(`the gateway at ${gw.url} (pid ${pid}) is no longer running; its last log lines:\n${tail || "(none)"}`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping gateways`);
    void Promise.allSettled([...running].map((h) => stop(h))).then(() => process.exit(130));
  });
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await Promise.allSettled([...running].map((h) => stop(h)));
    process.exit(1);
  },
);
