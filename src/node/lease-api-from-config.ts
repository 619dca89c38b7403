import type { KubeConfig } from "@kubernetes/client-node";
import { ConfigError, type LoadedConfig } from "../config/load.ts";
import { clusterLeaseApi } from "../kube/cluster-access.ts";
import type { LeaseApi } from "../kube/lease-api.ts";

/**
 * Where the Node gateway finds its cluster, first match wins: an explicit kubeconfig, the pod's
 * service account, a direct server URL with a bearer token, then $KUBECONFIG. None of them is a
 * start-up error: the gateway never guesses a cluster.
 *
 * Each transport is imported only when it is the one configured: client-node (about 50 MiB of
 * resident memory once loaded) only for a kubeconfig file. All three send with undici's
 * `request`, not the runtime's `fetch` (docs/design.md, "Talking to the apiserver").
 */
export async function leaseApiFromConfig(loaded: LoadedConfig, env: Record<string, string | undefined>): Promise<LeaseApi> {
  const kube = loaded.config.kubernetes;
  const timeout = kube.requestTimeoutMs;
  if (kube.kubeconfig) return kubeconfigApi((kc) => loadFile(kc, kube.kubeconfig!, "LEASEGATE_CONFIG.kubernetes.kubeconfig"), timeout);
  if (kube.inCluster) return clusterLeaseApi(await inPod(env), timeout);
  if (kube.server) {
    const { serverLeaseApi } = await import("../kube/server-lease-api.ts");
    return serverLeaseApi(kube.server, loaded.kubeToken, loaded.accessHeaders, timeout);
  }
  const fromEnv = env.KUBECONFIG?.trim();
  if (fromEnv) return kubeconfigApi((kc) => loadFile(kc, fromEnv, "KUBECONFIG"), timeout);
  throw new ConfigError(
    "no cluster configured: set LEASEGATE_CONFIG.kubernetes.kubeconfig, .inCluster or .server, or KUBECONFIG; `npm start` runs a local development cluster instead",
  );
}

async function kubeconfigApi(load: (kc: KubeConfig) => void, timeoutMs: number): Promise<LeaseApi> {
  const [{ KubeConfig: KubeConfigClass }, { kubeconfigLeaseApi }] = await Promise.all([
    import("@kubernetes/client-node"),
    import("../kube/kubeconfig-lease-api.ts"),
  ]);
  const kc = new KubeConfigClass();
  load(kc);
  return kubeconfigLeaseApi(kc, timeoutMs);
}

async function inPod(env: Record<string, string | undefined>) {
  const { serviceAccountTransport } = await import("../kube/service-account-transport.ts");
  try {
    return serviceAccountTransport({ env });
  } catch (err) {
    throw new ConfigError(`LEASEGATE_CONFIG.kubernetes.inCluster: ${(err as Error).message}`);
  }
}

function loadFile(kc: KubeConfig, path: string, setting: string): void {
  try {
    kc.loadFromFile(path);
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
}
