/**
 * leasegate benchmarks against direct Lease use, on the real local kube-apiserver + etcd.
 *
 *   npm run bench                 full run (about 10 minutes), writes docs/benchmarks.md
 *   BENCH_QUICK=1 npm run bench   small iteration counts (1–2 minutes), same report
 *
 * `npm run bench` starts the test cluster and sets LEASEGATE_TEST_CLUSTER and
 * NODE_EXTRA_CA_CERTS; this file runs every phase side by side and writes the report.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { clusterInfo, newTestNamespace } from "../test/support/cluster.ts";
import { startFaultProxy } from "../test/support/fault-proxy.ts";
import { gatewayBearerToken, type GatewayHandle, startNodeGateway, startWorkerGateway, TEST_TOKEN_KEY } from "../test/support/gateway.ts";
import { startOidcIssuer } from "../test/support/oidc-issuer.ts";
import {
  ClientGoLocker,
  clientNodeLeaseApi,
  clientNodeLeaseApiFor,
  gatewayFetchTransport,
  gatewayKubeconfigTransport,
  SameCallsLocker,
} from "./lib/direct.ts";
import { loadConfig } from "../src/config/load.ts";
import { createGateway } from "../src/gateway.ts";
import { KubeLeaseStore } from "../src/kube/lease-store.ts";
import type { LockStore } from "../src/locks/lock-store.ts";
import { MemoryStore } from "../src/locks/memory-store.ts";
import { GatewayClient } from "./lib/gateway-client.ts";
import { connectionsTo, pidListeningOn, procCpuMs, procMemory, selfCpuMs } from "./lib/proc.ts";
import { renderReport, type BenchResults, type MemoryResult, type ThroughputRow, type TakeoverRow } from "./lib/report.ts";
import { countDirect, countGateway } from "./phases/requests.ts";
import { clientGoTarget, gatewayTarget, hopProbe, measureLatency, sameCallsTarget } from "./phases/latency.ts";
import { measureCpu } from "./phases/cpu.ts";
import { clientGoSide, gatewaySide, measureThroughput } from "./phases/throughput.ts";
import { directTakeover, gatewayTakeover, type PollPolicy } from "./phases/takeover.ts";

const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const PARAMS = QUICK
  ? { requestReps: 3, latencyRounds: 30, latencyWarmup: 8, cpuCycles: 60, throughputWarmupMs: 300, throughputMs: 800, takeoverTrials: 1 }
  : { requestReps: 20, latencyRounds: 300, latencyWarmup: 30, cpuCycles: 400, throughputWarmupMs: 1000, throughputMs: 5000, takeoverTrials: 4 };
const LOCK_COUNTS = [1, 10, 100];
const CLIENT_COUNTS = [1, 8, 64];
const TAKEOVER_TTL_SECONDS = 2;
const AUDIENCE = "leasegate";
const REPORT_PATH = fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url));

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

async function main(): Promise<void> {
  const cluster = clusterInfo();
  const apiserverPort = Number(new URL(cluster.server).port);
  const kubeToken = gatewayBearerToken();
  const loadBefore = os.loadavg();
  const kubeVersion = await apiserverVersion(cluster.server, kubeToken);
  progress(`${QUICK ? "quick" : "full"} run against kube-apiserver ${kubeVersion} at ${cluster.server}`);

  const issuer = await track(startOidcIssuer({ defaultAudience: AUDIENCE }));
  const gatewayConfig = (skewAllowanceSeconds?: number) => ({
    issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
    policy: [{ match: { sub: "bench-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
    ...(skewAllowanceSeconds === undefined ? {} : { skewAllowanceSeconds }),
  });
  const maxClients = Math.max(...CLIENT_COUNTS);
  // One JWT per client, minted once and reused: what a real client does with its token.
  const jwts = await Promise.all(Array.from({ length: maxClients + 2 }, (_, i) => issuer.mint({ sub: `bench-c${i}` }, { expiresIn: 3 * 3600 })));
  const clientsOf = (gw: GatewayHandle) => jwts.map((jwt) => new GatewayClient(gw.url, jwt));

  const [nsReqNode, nsReqWorkerd, nsReqDirect, nsNodeKc, nsNodeFetch, nsWorkerd, nsDirect, nsTo0, nsTo2, nsToW] = await Promise.all(
    ["b-req-node", "b-req-wd", "b-req-direct", "b-node-kc", "b-node-fetch", "b-wd", "b-direct", "b-to-0", "b-to-2", "b-to-wd"].map((p) => newTestNamespace(p)),
  ) as [string, string, string, string, string, string, string, string, string, string];

  // ---- 1. apiserver requests per operation, counted at a proxy ----
  progress("phase 1: apiserver requests per operation (counted at the proxy)");
  const proxy = await track(startFaultProxy(cluster.server, cluster.caFile));
  const reqNode = await track(startNodeGateway({ namespace: nsReqNode, config: gatewayConfig(), server: proxy.url }));
  const reqWorkerd = await track(startWorkerGateway({ namespace: nsReqWorkerd, config: gatewayConfig(), server: proxy.url }));
  const requestCounts: BenchResults["requests"] = {};
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

  // ---- 2. latency: gateways pointed straight at the apiserver ----
  progress("phase 2: latency (starting gateways)");
  const gwNodeKc = await track(startNodeGateway({ namespace: nsNodeKc, config: gatewayConfig() }));
  const gwNodeFetch = await track(startNodeGateway({ namespace: nsNodeFetch, config: gatewayConfig(), server: cluster.server }));
  const gwWorkerd = await track(startWorkerGateway({ namespace: nsWorkerd, config: gatewayConfig() }));
  const memory: MemoryResult[] = [
    { id: "gw-node-kc", label: "gateway Node, kubeconfig transport", pid: gwNodeKc.pid, samples: {}, peakConnections: 0, peakConnectionsAt: "" },
    { id: "gw-node-fetch", label: "gateway Node, fetch transport", pid: gwNodeFetch.pid, samples: {}, peakConnections: 0, peakConnectionsAt: "" },
  ];
  const sampleMemory = (when: string) => {
    for (const m of memory) if (m.pid) m.samples[when] = procMemory(m.pid);
  };
  sampleMemory("idle after start");

  /** The gateway's app itself in this process, over the fetch transport, as the Node entry builds it (access log discarded). */
  const inProcessGateway = async (store: LockStore = new KubeLeaseStore(gatewayFetchTransport(cluster.server, kubeToken), nsDirect)) => {
    const loaded = loadConfig({
      LEASEGATE_CONFIG: JSON.stringify({ ...gatewayConfig(), namespace: nsDirect, kubernetes: { server: cluster.server } }),
      LEASEGATE_TOKEN_KEYS: TEST_TOKEN_KEY,
      LEASEGATE_KUBE_TOKEN: kubeToken,
    });
    const app = await createGateway({ loaded, store, env: {}, log: () => {} });
    return new GatewayClient("http://in-process", jwts[0]!, async (input, init) => app.request(input, init));
  };

  const kcApi = clientNodeLeaseApi(cluster.gatewayKubeconfig);
  const keepAliveApi = clientNodeLeaseApiFor(cluster.server, kubeToken);
  const latencyTargets = [
    clientGoTarget("direct-cg-kc", new ClientGoLocker(kcApi, nsDirect, "direct-lat"), "lat-cg-kc"),
    clientGoTarget("direct-cg-ka", new ClientGoLocker(keepAliveApi, nsDirect, "direct-lat"), "lat-cg-ka"),
    sameCallsTarget("direct-same-kc", new SameCallsLocker(gatewayKubeconfigTransport(cluster.gatewayKubeconfig), nsDirect, "bench-lat"), "lat-same-kc"),
    sameCallsTarget("direct-same-fetch", new SameCallsLocker(gatewayFetchTransport(cluster.server, kubeToken), nsDirect, "bench-lat"), "lat-same-fetch"),
    gatewayTarget("gw-node-kc", clientsOf(gwNodeKc)[0]!, "lat"),
    gatewayTarget("gw-node-fetch", clientsOf(gwNodeFetch)[0]!, "lat"),
    gatewayTarget("gw-workerd", clientsOf(gwWorkerd)[0]!, "lat"),
    // Diagnostic: the gateway's app in this process, no HTTP hop and no second process.
    gatewayTarget("app-in-process", await inProcessGateway(), "lat-in-process"),
  ];
  const probes = [hopProbe("hop-node", gwNodeFetch.url), hopProbe("hop-workerd", gwWorkerd.url)];
  const gatewayPids = [
    { id: "gw-node-kc", pid: memory[0]!.pid },
    { id: "gw-node-fetch", pid: memory[1]!.pid },
    { id: "gw-workerd", pid: pidListeningOn(Number(new URL(gwWorkerd.url).port)) },
  ];
  let cpuBefore: number[] = [];
  progress(`phase 2: latency, ${PARAMS.latencyRounds} rounds over ${latencyTargets.length} targets`);
  const latency = await measureLatency(latencyTargets, probes, PARAMS.latencyRounds, PARAMS.latencyWarmup, progress, () => {
    cpuBefore = gatewayPids.map((g) => (g.pid ? procCpuMs(g.pid) : Number.NaN));
  });
  const lockOperations = 3 * PARAMS.latencyRounds;
  const latencyCpu = gatewayPids.map((g, i) => ({
    id: g.id,
    cpuMsPerOperation: g.pid ? (procCpuMs(g.pid) - cpuBefore[i]!) / lockOperations : Number.NaN,
  }));
  sampleMemory("after latency phase");
  for (const [gw, pid] of [[gwNodeKc, memory[0]!.pid], [gwNodeFetch, memory[1]!.pid]] as const) assertAlive(gw, pid);
  await stop(gwWorkerd);

  progress("phase 2b: CPU per operation in this process (diagnostic)");
  const cpu = await measureCpu(
    [
      gatewayTarget("app over in-memory store", await inProcessGateway(new MemoryStore()), "cpu-memory"),
      gatewayTarget("app over Kubernetes (fetch transport)", await inProcessGateway(), "cpu-app"),
      sameCallsTarget("direct, same Kubernetes requests (fetch transport)", new SameCallsLocker(gatewayFetchTransport(cluster.server, kubeToken), nsDirect, "bench-cpu"), "cpu-same"),
    ],
    PARAMS.cpuCycles,
    Math.min(50, PARAMS.cpuCycles),
  );

  // ---- 3. throughput of acquire→release cycles ----
  const throughput: ThroughputRow[] = [];
  const pairs = [
    {
      id: "kubeconfig",
      gateway: gwNodeKc,
      mem: memory[0]!,
      direct: Array.from({ length: maxClients }, (_, i) => new ClientGoLocker(kcApi, nsDirect, `direct-c${i}`)),
    },
    {
      id: "keep-alive",
      gateway: gwNodeFetch,
      mem: memory[1]!,
      direct: Array.from({ length: maxClients }, (_, i) => new ClientGoLocker(keepAliveApi, nsDirect, `direct-c${i}`)),
    },
  ];
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
  await Promise.all([stop(gwNodeKc), stop(gwNodeFetch)]);

  // ---- 4. takeover after the holder stops renewing ----
  progress("phase 4: takeover after a holder goes silent");
  const takeover: TakeoverRow[] = [];
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
        await directTakeover(new ClientGoLocker(keepAliveApi, nsDirect, "direct-holder"), new ClientGoLocker(keepAliveApi, nsDirect, "direct-contender"), `to-direct-${t}`, TAKEOVER_TTL_SECONDS),
      );
    }
    takeover.push(row);
    progress(`  direct, 100 ms polling: ${row.trials.map((t) => `${(t.takeoverMs / 1000).toFixed(2)} s`).join(", ")}`);
  } finally {
    await Promise.all([stop(to0), stop(to2), stop(toW)]);
    await stop(issuer);
  }

  // ---- report ----
  const cpus = os.cpus();
  const results: BenchResults = {
    quick: QUICK,
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
  };
  const markdown = renderReport(results);
  writeFileSync(REPORT_PATH, markdown);
  process.stdout.write(`${markdown}\n`);
  progress(`wrote ${REPORT_PATH}`);
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
