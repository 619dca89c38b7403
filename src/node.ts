/**
 * The production Node entry: configuration from the environment, the cluster it names, and the
 * app served with @hono/node-server. It has no defaults to fall back on: a missing, empty or
 * unreadable configuration, or one that names no cluster, stops it with a message naming the
 * setting. Local development is `npm start` (dev/start.ts), a separate entry.
 */
import { hostname } from "node:os";
import { loadConfig } from "./config/load.ts";
import { createGateway } from "./gateway.ts";
import { clusterAccessOf } from "./kube/cluster-access.ts";
import { KubeLeaseStore } from "./kube/lease-store.ts";
import { registerNodeProcessMetrics } from "./metrics/node-process-metrics.ts";
import { PrometheusMetrics } from "./metrics/prometheus-metrics.ts";
import { configSource } from "./node/config-source.ts";
import { leaseApiFromConfig } from "./node/lease-api-from-config.ts";
import { listenAddress } from "./node/listen-address.ts";
import { metricsExposure } from "./node/metrics-exposure.ts";
import { serveMetrics } from "./node/metrics-listener.ts";
import { nodeSha256 } from "./node/node-sha256.ts";
import { serve } from "./node/serve.ts";
import { exitOnStartupFailure } from "./node/startup-failure.ts";
import { logToStderr } from "./node/stderr-log.ts";

async function main(): Promise<void> {
  const env = { ...process.env };
  const loaded = loadConfig(env, configSource(env));
  const address = listenAddress(env);
  const exposure = metricsExposure(env);
  const api = await leaseApiFromConfig(loaded, env);
  const metrics = new PrometheusMetrics({ lockStateMaxAgeMs: loaded.config.metrics.lockStateMaxAgeSeconds * 1000 });
  registerNodeProcessMetrics(metrics.registry);
  const expose = () => metrics.expose();
  const app = await createGateway({
    loaded,
    store: new KubeLeaseStore(api, loaded.config.namespace),
    env,
    log: logToStderr,
    cluster: clusterAccessOf(api),
    metrics,
    // In a pod, its name: which replica recorded an Event.
    reportingInstance: hostname().slice(0, 128) || undefined,
    metricsEndpoint: exposure.bearerToken === undefined ? undefined : { expose, bearerToken: exposure.bearerToken },
    sha256: nodeSha256,
  });
  const metricsListener = exposure.listen && (await serveMetrics({ address: exposure.listen, expose, bearerToken: exposure.bearerToken, log: logToStderr }));
  await serve({ fetch: app.fetch, address, log: logToStderr, onShutdown: metricsListener ? () => metricsListener.close() : undefined });
}

main().catch(exitOnStartupFailure);
