import { CoordinationV1Api, createConfiguration, type KubeConfig, ServerConfiguration } from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import { apiserverReadiness } from "./apiserver-readiness.ts";
import { withClusterAccess } from "./cluster-access.ts";
import { withGoEscaping } from "./go-json-escaping.ts";
import type { LeaseApi } from "./lease-api.ts";
import { leaseWatch } from "./lease-watch.ts";
import { triageRefusals } from "./refusal-triage.ts";

/**
 * Node only: client-node's own fetch transport with everything a kubeconfig can say — client
 * certificates, a private CA, exec credential plugins, in-cluster service-account tokens.
 * Credentials in headers (tokens, exec plugins) are re-applied on every request; TLS material is
 * read once, so a rotated client certificate takes effect on restart.
 */
export function kubeconfigLeaseApi(kubeConfig: KubeConfig, timeoutMs: number): LeaseApi {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  let shared: Dispatcher | undefined;
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server.replace(/\/+$/, ""), {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [
      {
        pre: async (context) => {
          context.setSignal(AbortSignal.timeout(timeoutMs));
          context.setBody(withGoEscaping(context.getBody()));
          // client-node builds a fresh TLS dispatcher for every request of a kubeconfig with a CA or
          // client certificate: a new connection and handshake each time. Keep the first one
          // (same cluster, same options) so connections are reused.
          const dispatcher = context.getDispatcher();
          if (dispatcher) context.setDispatcher((shared ??= dispatcher));
          return context;
        },
        post: async (response) => response,
      },
    ],
  });
  const api = Object.assign(new CoordinationV1Api(configuration), { watchLease: leaseWatch(configuration, timeoutMs) });
  return withClusterAccess(configuration, triageRefusals(api as unknown as LeaseApi, apiserverReadiness(configuration)));
}
