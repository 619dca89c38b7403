import { HttpMethod, type KubeConfig, RequestContext } from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import type { ApiserverTransport } from "./apiserver-transport.ts";
import { clusterLeaseApi } from "./cluster-access.ts";
import { undiciTransport } from "./undici-transport.ts";
import type { LeaseApi } from "./lease-api.ts";

/**
 * Node only: the Lease API with everything a kubeconfig can say, applied by client-node — client
 * certificates, a private CA, exec credential plugins, in-cluster service-account tokens.
 */
export function kubeconfigLeaseApi(kubeConfig: KubeConfig, timeoutMs: number): LeaseApi {
  return clusterLeaseApi(kubeconfigTransport(kubeConfig), timeoutMs);
}

/**
 * Credentials in headers (tokens, exec plugins, a rotated service-account token) are applied by
 * client-node on every request. TLS material is read once: client-node builds a fresh TLS
 * dispatcher each time, a new connection and handshake per request, so the first one is kept
 * (same cluster, same options) and connections are reused; a rotated client certificate takes
 * effect on restart.
 */
export function kubeconfigTransport(kubeConfig: KubeConfig): ApiserverTransport {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  let shared: Dispatcher | undefined;
  return undiciTransport(cluster.server, async () => {
    const context = new RequestContext(cluster.server, HttpMethod.GET);
    await kubeConfig.applySecurityAuthentication(context);
    shared ??= context.getDispatcher();
    return { headers: context.getHeaders(), dispatcher: shared };
  });
}
