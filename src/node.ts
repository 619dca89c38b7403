/**
 * The production Node entry: configuration from the environment, the cluster it names, and the
 * app served with @hono/node-server. It has no defaults to fall back on: a missing, empty or
 * unreadable configuration, or one that names no cluster, stops it with a message naming the
 * setting. Local development is `npm start` (dev/start.ts), a separate entry.
 */
import { loadConfig } from "./config/load.ts";
import { createGateway } from "./gateway.ts";
import { KubeLeaseStore } from "./kube/lease-store.ts";
import { configSource } from "./node/config-source.ts";
import { leaseApiFromConfig } from "./node/lease-api-from-config.ts";
import { listenAddress } from "./node/listen-address.ts";
import { serve } from "./node/serve.ts";
import { exitOnStartupFailure } from "./node/startup-failure.ts";
import { logToStderr } from "./node/stderr-log.ts";

async function main(): Promise<void> {
  const env = { ...process.env };
  const loaded = loadConfig(env, configSource(env));
  const address = listenAddress(env);
  const api = leaseApiFromConfig(loaded, env);
  const app = await createGateway({ loaded, store: new KubeLeaseStore(api, loaded.config.namespace), env, log: logToStderr });
  await serve({ fetch: app.fetch, address, log: logToStderr });
}

main().catch(exitOnStartupFailure);
