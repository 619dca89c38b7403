import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { type ClusterInfo, createLockNamespace } from "../../infra/test-cluster/cluster.ts";

const exec = promisify(execFile);

/** The cluster started for this run's integration files (test/support/cluster-setup.ts). */
export function clusterInfo(): ClusterInfo {
  const file = process.env.LEASEGATE_TEST_CLUSTER;
  if (!file) throw new Error("no test cluster in this run: a file that uses it must not be listed as a unit file in vitest.config.ts");
  return JSON.parse(readFileSync(file, "utf8")) as ClusterInfo;
}

let sequence = 0;

/** A fresh lock namespace with the gateway's Role bound in it; one per test file or suite. */
export async function newTestNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${sequence++}`.toLowerCase().slice(0, 63).replace(/-+$/, "");
  await createLockNamespace(clusterInfo(), name);
  return name;
}

/** Real kubectl as the cluster admin, parsing JSON output. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function kubectlJson(args: string[], options: { stdin?: string } = {}): Promise<any> {
  const child = exec("kubectl", ["--kubeconfig", clusterInfo().adminKubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 });
  if (options.stdin !== undefined) {
    child.child.stdin!.end(options.stdin);
  }
  const { stdout } = await child;
  return stdout.trim() ? JSON.parse(stdout) : null;
}

/** Stops, starts or restarts etcd or the apiserver through the launcher's control endpoint. */
export async function controlCluster(
  component: "etcd" | "apiserver",
  action: "stop" | "start" | "restart",
  cluster: Pick<ClusterInfo, "control"> = clusterInfo(),
): Promise<void> {
  const res = await fetch(`${cluster.control}/${component}/${action}`, { method: "POST" });
  if (!res.ok) throw new Error(`control ${component}/${action}: ${res.status} ${await res.text()}`);
}

/** The gateway's ServiceAccount, as the apiserver names it. */
export const GATEWAY_SERVICE_ACCOUNT = "system:serviceaccount:leasegate:leasegate";

/** `kubectl auth can-i` as the gateway's ServiceAccount. */
export async function gatewayCan(verb: string, resource: string, namespace: string): Promise<boolean> {
  try {
    await exec("kubectl", ["--kubeconfig", clusterInfo().adminKubeconfig, "auth", "can-i", verb, resource, "-n", namespace, `--as=${GATEWAY_SERVICE_ACCOUNT}`]);
    return true;
  } catch (err) {
    if ((err as { stdout?: string }).stdout?.trim() === "no") return false;
    throw err;
  }
}
