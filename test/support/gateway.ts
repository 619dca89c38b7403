import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { clusterInfo, newTestNamespace } from "./cluster.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import type { OidcIssuer } from "./oidc-issuer.ts";
import { closedPort } from "./ports.ts";

export interface GatewayHandle {
  url: string;
  runtime: "node" | "workerd";
  /** Everything the gateway logged so far (stderr on Node, console on workerd). */
  logs(): string;
  /** The gateway's process id (Node only). */
  pid?: number;
  /** Graceful stop (SIGTERM on Node). */
  stop(): Promise<void>;
  /** Abrupt stop, mid-request if there is one (SIGKILL on Node). */
  kill(): Promise<void>;
}

export interface GatewayOptions {
  /** The lock namespace (already created with the gateway's RBAC). */
  namespace: string;
  /** Gateway JSON configuration without `namespace` and `kubernetes` (filled in here). */
  config: Record<string, unknown>;
  /** Extra settings: e.g. `kubernetes` overrides or env for HS256 secrets. */
  kubernetes?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Point the gateway at this apiserver URL instead of the cluster's (e.g. a fault proxy). */
  server?: string;
  /** The Node entry, relative to the repository: `src/node.ts` unless the compiled `dist/gateway/node.js` (`npm run build`) is wanted. */
  entry?: string;
  /**
   * A cgroup directory (with a memory limit) to start the gateway in, as a pod's container is:
   * Node sizes its heap from that limit at start-up, so it cannot be joined later.
   */
  cgroup?: string;
}

export const TEST_TOKEN_KEY = Buffer.from("leasegate-test-token-key-0123456789abcdef").toString("base64url");

const execFileAsync = promisify(execFile);
const root = new URL("../..", import.meta.url).pathname;

/** The real gateway as a child process: `node src/node.ts`, with the test cluster's least-privilege identity. */
export async function startNodeGateway(options: GatewayOptions): Promise<GatewayHandle> {
  const cluster = clusterInfo();
  const kubernetes = options.server
    ? { server: options.server, ...options.kubernetes }
    : { kubeconfig: cluster.gatewayKubeconfig, ...options.kubernetes };
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    LEASEGATE_CONFIG: JSON.stringify({ ...options.config, namespace: options.namespace, kubernetes }),
    LEASEGATE_TOKEN_KEYS: TEST_TOKEN_KEY,
    PORT: "0",
    HOST: "127.0.0.1",
    ...(options.server ? { LEASEGATE_KUBE_TOKEN: gatewayBearerToken() } : {}),
    ...options.env,
  };
  delete env.KUBECONFIG;
  const argv = [process.execPath, join(root, options.entry ?? "src/node.ts")];
  // The shell joins the cgroup and then becomes node (same pid), so node starts inside it.
  const [command, ...args] = options.cgroup ? ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', options.cgroup, ...argv] : argv;
  const child = spawn(command!, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let logs = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    logs += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start within 30 s:\n${logs}`)), 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${logs}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const event = JSON.parse(line) as { event?: string; url?: string };
        if (event.event === "listening" && event.url) {
          clearTimeout(timer);
          resolve(event.url);
        }
      } catch {
        // not the ready line
      }
    });
  });
  return { url, runtime: "node", logs: () => logs, pid: child.pid, stop: () => stopChild(child), kill: () => stopChild(child, "SIGKILL") };
}

/**
 * A Node gateway in a fresh namespace whose apiserver traffic goes through a fault proxy, which
 * counts every request (to prove that something wrote nothing) and can inject faults.
 */
export async function startProxiedGateway(
  namespacePrefix: string,
  options: Omit<GatewayOptions, "namespace" | "server">,
): Promise<{ gw: GatewayHandle; proxy: FaultProxy; namespace: string }> {
  const cluster = clusterInfo();
  const [proxy, namespace] = await Promise.all([startFaultProxy(cluster.server, cluster.caFile), newTestNamespace(namespacePrefix)]);
  const gw = await startNodeGateway({ ...options, namespace, server: proxy.url });
  return { gw, proxy, namespace };
}

let bundle: Promise<string> | undefined;

/** The Worker bundle exactly as `wrangler deploy` would upload it. */
export function workerBundle(): Promise<string> {
  bundle ??= (async () => {
    const outdir = mkdtempSync(join(tmpdir(), "leasegate-worker-"));
    await execFileAsync(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    });
    return join(outdir, "worker.js");
  })();
  return bundle;
}

/**
 * The real gateway in workerd (Miniflare), talking to the test apiserver over TLS with the
 * cluster's CA, which Miniflare takes from NODE_EXTRA_CA_CERTS (set by the test runner).
 */
export async function startWorkerGateway(options: GatewayOptions): Promise<GatewayHandle> {
  const cluster = clusterInfo();
  let logs = "";
  const bundlePath = await workerBundle();
  // Miniflare 5 takes a new options shape; the v4 one, converted, says plainly what runs.
  const mf = new Miniflare(convertV4MiniflareOptions({
    modules: true,
    scriptPath: bundlePath,
    // workerd names modules relative to this root and refuses paths that climb out of it.
    modulesRoot: dirname(bundlePath),
    compatibilityDate: "2026-11-01",
    compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
    bindings: {
      LEASEGATE_CONFIG: JSON.stringify({
        ...options.config,
        namespace: options.namespace,
        kubernetes: { server: options.server ?? cluster.server, ...options.kubernetes },
      }),
      LEASEGATE_TOKEN_KEYS: TEST_TOKEN_KEY,
      LEASEGATE_KUBE_TOKEN: gatewayBearerToken(),
      ...options.env,
    },
    handleStructuredLogs: ({ message }) => {
      logs += `${message}\n`;
    },
  }));
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { url, runtime: "workerd", logs: () => logs, stop: () => mf.dispose(), kill: () => mf.dispose() };
}

/** The gateway ServiceAccount's bearer token, from the kubeconfig the cluster wrote. */
export function gatewayBearerToken(): string {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterInfo().gatewayKubeconfig);
  const token = kc.getCurrentUser()?.token;
  if (!token) throw new Error("gateway kubeconfig has no bearer token");
  return token;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * A Node gateway for callers `svc-*` of `issuer` (audience `leasegate`) that serves Prometheus
 * metrics on a listener of its own, which tells what it sent the apiserver.
 */
export async function startMeteredGateway(namespace: string, issuer: OidcIssuer): Promise<{ gw: GatewayHandle; metricsUrl: string }> {
  const port = await closedPort();
  const gw = await startNodeGateway({
    namespace,
    config: {
      issuers: [{ issuer: issuer.issuer, audiences: ["leasegate"], jwksUri: issuer.jwksUri }],
      policy: [{ match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
    },
    env: { METRICS_PORT: String(port) },
  });
  return { gw, metricsUrl: `http://127.0.0.1:${port}/metrics` };
}
