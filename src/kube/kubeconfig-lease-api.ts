import { CoordinationV1Api, createConfiguration, type KubeConfig, ServerConfiguration } from "@kubernetes/client-node";
import type { LeaseApi } from "./lease-api.ts";

/**
 * Node only: client-node's own fetch transport with everything a kubeconfig can say — client
 * certificates, a private CA, exec credential plugins, in-cluster service-account tokens.
 */
export function kubeconfigLeaseApi(kubeConfig: KubeConfig, timeoutMs: number): LeaseApi {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server.replace(/\/+$/, ""), {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [
      {
        pre: async (context) => {
          context.setSignal(AbortSignal.timeout(timeoutMs));
          return context;
        },
        post: async (response) => response,
      },
    ],
  });
  return new CoordinationV1Api(configuration) as unknown as LeaseApi;
}
