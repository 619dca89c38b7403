import { KubeConfig } from "@kubernetes/client-node";
import { ConfigError, type LoadedConfig } from "../config/load.ts";
import { fetchLeaseApi } from "../kube/fetch-lease-api.ts";
import { kubeconfigLeaseApi } from "../kube/kubeconfig-lease-api.ts";
import type { LeaseApi } from "../kube/lease-api.ts";

/**
 * Where the Node gateway finds its cluster, first match wins: an explicit kubeconfig, the pod's
 * service account, a direct server URL with a bearer token, then $KUBECONFIG. None of them is a
 * start-up error: the gateway never guesses a cluster.
 */
export function leaseApiFromConfig(loaded: LoadedConfig, env: Record<string, string | undefined>): LeaseApi {
  const kube = loaded.config.kubernetes;
  const timeout = kube.requestTimeoutMs;
  if (kube.kubeconfig) return kubeconfigLeaseApi(kubeConfigFromFile(kube.kubeconfig, "LEASEGATE_CONFIG.kubernetes.kubeconfig"), timeout);
  if (kube.inCluster) {
    const kc = new KubeConfig();
    kc.loadFromCluster();
    return kubeconfigLeaseApi(kc, timeout);
  }
  if (kube.server) {
    return fetchLeaseApi({ server: kube.server, bearerToken: loaded.kubeToken, headers: loaded.accessHeaders, timeoutMs: timeout });
  }
  if (env.KUBECONFIG?.trim()) return kubeconfigLeaseApi(kubeConfigFromFile(env.KUBECONFIG, "KUBECONFIG"), timeout);
  throw new ConfigError(
    "no cluster configured: set LEASEGATE_CONFIG.kubernetes.kubeconfig, .inCluster or .server, or KUBECONFIG; `npm start` runs a local development cluster instead",
  );
}

function kubeConfigFromFile(path: string, setting: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
  return kc;
}
