/**
 * `npm start`: a complete local gateway for development. It starts the local kube-apiserver
 * (infra/test-cluster), trusts a throw-away issuer whose `dev-*` subjects may do everything,
 * prints a token for it and serves the same gateway as the production entry, on loopback only.
 * KUBECONFIG is ignored: development mode talks to its own cluster and nothing else.
 */
import { startCluster } from "../infra/test-cluster/cluster.ts";
import { loadConfig } from "../src/config/load.ts";
import { createGateway } from "../src/gateway.ts";
import { clusterAccessOf } from "../src/kube/cluster-access.ts";
import { KubeLeaseStore } from "../src/kube/lease-store.ts";
import { leaseApiFromConfig } from "../src/node/lease-api-from-config.ts";
import { nodeSha256 } from "../src/node/node-sha256.ts";
import { serve } from "../src/node/serve.ts";
import { exitOnStartupFailure } from "../src/node/startup-failure.ts";
import { logToStderr as log } from "../src/node/stderr-log.ts";
import { devDefaults } from "./dev-defaults.ts";
import { checkDevelopmentEnvironment } from "./environment-guard.ts";

async function main(): Promise<void> {
  const address = checkDevelopmentEnvironment(process.env);
  log({ level: "warn", msg: "development mode: local cluster and a throw-away issuer (never use in production)" });
  if (process.env.KUBECONFIG) log({ level: "info", msg: "KUBECONFIG is ignored: development mode uses only its own local cluster" });
  const cluster = await startCluster();
  try {
    const dev = await devDefaults(cluster.gatewayKubeconfig);
    // Only development settings: nothing from the environment reaches the gateway.
    const env = { LEASEGATE_CONFIG: dev.configText, LEASEGATE_TOKEN_KEYS: dev.tokenKeys };
    const loaded = loadConfig(env);
    const api = await leaseApiFromConfig(loaded, env);
    const app = await createGateway({ loaded, store: new KubeLeaseStore(api, loaded.config.namespace), env, log, cluster: clusterAccessOf(api), sha256: nodeSha256 });
    log({ level: "info", msg: "local cluster ready", kubectl: `kubectl --kubeconfig ${cluster.adminKubeconfig} get leases -A` });
    const url = await serve({ fetch: app.fetch, address, log, onShutdown: () => cluster.stop() });
    log({ level: "info", msg: "development token (sub dev-local, 12h)", hint: `export TOKEN=${await dev.mint("dev-local")}` });
    log({ level: "info", msg: "try it", hint: `curl -s -X POST -H "authorization: Bearer $TOKEN" ${url}/locks/demo/acquire` });
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

main().catch(exitOnStartupFailure);
