import { clusterEnvironment, startCluster } from "../../infra/test-cluster/cluster.ts";

/**
 * Global setup of the integration project (vitest.config.ts): one test cluster for every
 * integration file of a run, stopped when the run ends. Vitest runs it only when the run includes
 * a file of that project, so a run of unit files alone never builds or starts kube-apiserver.
 *
 * Test workers are forked after this has run and inherit the environment it sets, and so do the
 * processes they start (the Node gateway, workerd): `NODE_EXTRA_CA_CERTS` only takes effect in a
 * process that starts with it.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  // `cluster.ts run -- vitest …` already started one for this run.
  if (process.env.LEASEGATE_TEST_CLUSTER) return undefined;

  const started = Date.now();
  const { stop, ...cluster } = await startCluster();
  process.stderr.write(`test-cluster: ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${cluster.server}\n`);
  const environment = clusterEnvironment(cluster);
  const previous = { LEASEGATE_TEST_CLUSTER: process.env.LEASEGATE_TEST_CLUSTER, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS };
  Object.assign(process.env, environment);

  return async () => {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await stop();
  };
}
