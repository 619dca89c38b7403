import { KubeConfig } from "@kubernetes/client-node";
import type { LoadedConfig } from "../config/load.ts";
import { fetchLeaseApi } from "../kube/fetch-lease-api.ts";
import { kubeconfigLeaseApi } from "../kube/kubeconfig-lease-api.ts";
import type { LeaseApi } from "../kube/lease-api.ts";

/**
 * Where the Node gateway finds its cluster, first match wins: an explicit kubeconfig, the pod's
 * service account, a direct server URL with a bearer token, then $KUBECONFIG. Null means none is
 * configured (the caller may then start the local cluster).
 */
export function leaseApiFromConfig(loaded: LoadedConfig, env: Record<string, string | undefined>): LeaseApi | null {
  const kube = loaded.config.kubernetes;
  const timeout = kube.requestTimeoutMs;
  if (kube.kubeconfig) return kubeconfigLeaseApi(loadFile(kube.kubeconfig), timeout);
  if (kube.inCluster) {
    const kc = new KubeConfig();
    kc.loadFromCluster();
    return kubeconfigLeaseApi(kc, timeout);
  }
  if (kube.server) {
    return fetchLeaseApi({ server: kube.server, bearerToken: loaded.kubeToken, headers: loaded.accessHeaders, timeoutMs: timeout });
  }
  if (env.KUBECONFIG) return kubeconfigLeaseApi(loadFile(env.KUBECONFIG), timeout);
  return null;
}

export function loadFile(path: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (err) {
    throw new Error(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
  return kc;
}
