/**
 * The Cloudflare Workers entry: the same app, with the Kubernetes API reached over `fetch`
 * (directly, through a Cloudflare Tunnel behind Access, or through a service binding).
 */
import type { ExecutionContext } from "hono";
import { ConfigError, loadConfig } from "./config/load.ts";
import { createGateway } from "./gateway.ts";
import { clusterAccessOf } from "./kube/cluster-access.ts";
import { fetchLeaseApi, type Fetcher } from "./kube/fetch-lease-api.ts";
import { KubeLeaseStore } from "./kube/lease-store.ts";
import { AnalyticsEngineMetrics, type AnalyticsEngineDataset } from "./metrics/analytics-engine-metrics.ts";

type Env = Record<string, unknown>;
type Gateway = Awaited<ReturnType<typeof createGateway>>;

const log = (entry: Record<string, unknown>) => console.log(JSON.stringify(entry));
let gateway: Promise<Gateway> | undefined;

function build(env: Env): Promise<Gateway> {
  const strings = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === "string"));
  const loaded = loadConfig(strings);
  const kube = loaded.config.kubernetes;
  if (!kube.server) throw new ConfigError("LEASEGATE_CONFIG.kubernetes.server: is required on Workers");
  let viaBinding: Fetcher | undefined;
  if (kube.fetchBinding) {
    const binding = env[kube.fetchBinding] as { fetch?: Fetcher } | undefined;
    if (typeof binding?.fetch !== "function") throw new ConfigError(`LEASEGATE_CONFIG.kubernetes.fetchBinding: no binding named ${kube.fetchBinding} with a fetch method`);
    viaBinding = (input, init) => binding.fetch!(input, init);
  }
  const api = fetchLeaseApi({
    server: kube.server,
    bearerToken: loaded.kubeToken,
    headers: loaded.accessHeaders,
    fetch: viaBinding,
    timeoutMs: kube.requestTimeoutMs,
  });
  return createGateway({
    loaded,
    store: new KubeLeaseStore(api, loaded.config.namespace),
    env: strings,
    log,
    cluster: clusterAccessOf(api),
    metrics: analyticsEngineMetrics(env, loaded.config.metrics.analyticsEngineBinding),
    reportingInstance: "workers",
  });
}

/** Metrics as Analytics Engine data points, when the configuration names a dataset binding; none otherwise. */
function analyticsEngineMetrics(env: Env, bindingName: string | undefined): AnalyticsEngineMetrics | undefined {
  if (bindingName === undefined) return undefined;
  const binding = env[bindingName] as Partial<AnalyticsEngineDataset> | undefined;
  if (typeof binding?.writeDataPoint !== "function") {
    throw new ConfigError(`LEASEGATE_CONFIG.metrics.analyticsEngineBinding: no binding named ${bindingName} with a writeDataPoint method`);
  }
  return new AnalyticsEngineMetrics(binding as AnalyticsEngineDataset);
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    // Configuration is parsed once per isolate; a bad one is reported on every request until fixed.
    gateway ??= build(env);
    let app: Gateway;
    try {
      app = await gateway;
    } catch (err) {
      gateway = undefined;
      log({ level: "error", msg: "invalid configuration", error: err instanceof Error ? err.message : String(err) });
      return new Response(
        JSON.stringify({ type: "urn:leasegate:problem:internal", code: "internal", title: "The gateway is misconfigured", status: 500 }),
        { status: 500, headers: { "content-type": "application/problem+json" } },
      );
    }
    return app.fetch(request, env, ctx);
  },
};
