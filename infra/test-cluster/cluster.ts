/**
 * Builds and runs the local test cluster (a real kube-apiserver with embedded etcd) and sets up
 * the gateway's least-privilege identity in it with real kubectl and the manifests in infra/k8s.
 *
 *   node infra/test-cluster/cluster.ts up              start it and wait for Ctrl-C
 *   node infra/test-cluster/cluster.ts run -- CMD...   start it, run CMD against it, tear it down
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const exec = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const manifests = join(here, "..", "k8s");
const binary = join(here, ".bin", "test-cluster");

export interface ClusterInfo {
  server: string;
  caFile: string;
  adminKubeconfig: string;
  /** Authenticates as ServiceAccount leasegate/leasegate: Lease rights in `leasegate` only. */
  gatewayKubeconfig: string;
  dir: string;
  /** Loopback URL of the launcher's control endpoint (POST /{etcd,apiserver}/{stop,start,restart}). */
  control: string;
}

export interface ClusterHandle extends ClusterInfo {
  stop(): Promise<void>;
}

/** Builds the launcher unless the binary is newer than every Go source file. */
export async function buildCluster(): Promise<string> {
  const sources = readdirSync(here).filter((f) => /\.go$|^go\.(mod|sum)$/.test(f));
  const newest = Math.max(...sources.map((f) => statSync(join(here, f)).mtimeMs));
  if (existsSync(binary) && statSync(binary).mtimeMs >= newest) return binary;
  try {
    await exec("go", ["version"]);
  } catch {
    throw new Error(
      "Go is not installed: it is needed to build the local kube-apiserver (Go >= 1.26, https://go.dev/dl). " +
        "Or point the gateway at an existing cluster with KUBECONFIG.",
    );
  }
  process.stderr.write("test-cluster: building kube-apiserver and etcd (the first build downloads modules and takes a few minutes)…\n");
  try {
    await exec("go", ["build", "-o", binary, "."], { cwd: here, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`building infra/test-cluster failed:\n${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  return binary;
}

export async function startCluster(options: { startTimeoutMs?: number } = {}): Promise<ClusterHandle> {
  await requireKubectl();
  const bin = await buildCluster();
  const child = spawn(bin, [], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ready = await new Promise<{ server: string; caFile: string; adminKubeconfig: string; dir: string; control: string }>(
    (resolve, reject) => {
      const timeout = options.startTimeoutMs ?? 180_000;
      const timer = setTimeout(() => {
        child.kill("SIGTERM");
        reject(new Error(`test-cluster: not ready within ${timeout / 1000}s\n${stderr}`));
      }, timeout);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`test-cluster: exited with ${code} before it was ready\n${stderr.trim()}`));
      });
      createInterface({ input: child.stdout! }).once("line", (line) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line));
        } catch {
          reject(new Error(`test-cluster: unexpected output: ${line}`));
        }
      });
    },
  );
  const stop = () => stopChild(child);
  try {
    const gatewayKubeconfig = await setUpGatewayIdentity(ready.adminKubeconfig, ready.server, ready.caFile, ready.dir);
    return { ...ready, gatewayKubeconfig, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A lock namespace the gateway identity may manage Leases in (the same Role as `leasegate`). */
export async function createLockNamespace(cluster: Pick<ClusterInfo, "adminKubeconfig">, name: string): Promise<void> {
  const kubectl = (...args: string[]) => exec("kubectl", ["--kubeconfig", cluster.adminKubeconfig, ...args]);
  await kubectl("create", "namespace", name);
  await kubectl("apply", "-n", name, "-f", join(manifests, "role.yaml"), "-f", join(manifests, "rolebinding.yaml"));
}

async function setUpGatewayIdentity(adminKubeconfig: string, server: string, caFile: string, dir: string): Promise<string> {
  const kubectl = (...args: string[]) => exec("kubectl", ["--kubeconfig", adminKubeconfig, ...args]);
  await kubectl("apply", "-f", join(manifests, "namespace.yaml"), "-f", join(manifests, "serviceaccount.yaml"));
  await kubectl("apply", "-n", "leasegate", "-f", join(manifests, "role.yaml"), "-f", join(manifests, "rolebinding.yaml"));
  const { stdout } = await kubectl("create", "token", "leasegate", "-n", "leasegate", "--duration=24h");
  const path = join(dir, "gateway.kubeconfig");
  writeFileSync(
    path,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: test-cluster",
      `  cluster: { server: "${server}", certificate-authority: "${caFile}" }`,
      "users:",
      "- name: leasegate",
      `  user: { token: "${stdout.trim()}" }`,
      "contexts:",
      "- name: leasegate",
      "  context: { cluster: test-cluster, user: leasegate, namespace: leasegate }",
      "current-context: leasegate",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return path;
}

async function requireKubectl(): Promise<void> {
  try {
    await exec("kubectl", ["version", "--client"]);
  } catch {
    throw new Error("kubectl is not installed: the test cluster applies infra/k8s with it (https://kubernetes.io/docs/tasks/tools/)");
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

/** The CA bundle for child processes: whatever was trusted already, plus the cluster's CA. */
function extraCaFile(cluster: ClusterInfo): string {
  const path = join(cluster.dir, "extra-ca.pem");
  const existing = process.env.NODE_EXTRA_CA_CERTS && existsSync(process.env.NODE_EXTRA_CA_CERTS) ? readFileSync(process.env.NODE_EXTRA_CA_CERTS, "utf8") : "";
  writeFileSync(path, `${existing}\n${readFileSync(cluster.caFile, "utf8")}`);
  return path;
}

/**
 * What a process that uses the cluster needs in its environment: `LEASEGATE_TEST_CLUSTER` names
 * a JSON file with the cluster's details, and `NODE_EXTRA_CA_CERTS` makes Node (and workerd) trust
 * the apiserver. Node reads the latter only when it starts, so it reaches processes started later.
 */
export function clusterEnvironment(cluster: ClusterInfo): { LEASEGATE_TEST_CLUSTER: string; NODE_EXTRA_CA_CERTS: string } {
  const infoFile = join(cluster.dir, "cluster.json");
  writeFileSync(infoFile, JSON.stringify(cluster, null, 2));
  return { LEASEGATE_TEST_CLUSTER: infoFile, NODE_EXTRA_CA_CERTS: extraCaFile(cluster) };
}

async function main(argv: string[]): Promise<number> {
  const [mode, ...rest] = argv;
  if (mode !== "up" && mode !== "run") {
    process.stderr.write("usage: cluster.ts up | cluster.ts run -- COMMAND [ARGS...]\n");
    return 2;
  }
  const started = Date.now();
  const cluster = await startCluster();
  const { stop, ...info } = cluster;
  process.stderr.write(`test-cluster: ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${info.server}\n`);
  const environment = clusterEnvironment(info);

  let child: ChildProcess | undefined;
  const forward = (signal: NodeJS.Signals) => {
    if (child) child.kill(signal);
    else void stop().then(() => process.exit(130));
  };
  process.on("SIGINT", () => forward("SIGINT"));
  process.on("SIGTERM", () => forward("SIGTERM"));

  if (mode === "up") {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    process.stderr.write(`kubectl --kubeconfig ${info.adminKubeconfig} get leases -A\n(Ctrl-C stops the cluster)\n`);
    await new Promise<void>((resolve) => process.once("SIGINT", resolve));
    await stop();
    return 0;
  }

  const command = rest[0] === "--" ? rest.slice(1) : rest;
  if (command.length === 0) {
    await stop();
    process.stderr.write("usage: cluster.ts run -- COMMAND [ARGS...]\n");
    return 2;
  }
  child = spawn(command[0]!, command.slice(1), {
    stdio: "inherit",
    env: { ...process.env, ...environment },
  });
  const code = await new Promise<number>((resolve) => {
    child!.once("exit", (exitCode, signal) => resolve(exitCode ?? 128 + (signal ? 15 : 1)));
    child!.once("error", (err) => {
      process.stderr.write(`cannot run ${command[0]}: ${err.message}\n`);
      resolve(127);
    });
  });
  await stop();
  return code;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
