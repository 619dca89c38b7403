import { KubeConfig } from "@kubernetes/client-node";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FixtureWorker, startFixtureWorker } from "../support/fixture-worker.ts";
import { kubeconfigLeaseApi } from "../../src/kube/kubeconfig-lease-api.ts";
import { KubeLeaseStore } from "../../src/kube/lease-store.ts";
import { clusterInfo, newTestNamespace } from "../support/cluster.ts";
import { type RequestCountingProxy, startRequestCountingProxy } from "./request-counting-proxy.ts";

/**
 * The watch of the fetch transport inside workerd (Miniflare), against the real apiserver: the
 * runtime a Worker gateway waits in. The Worker (fixtures/watch-worker.ts) reaches the apiserver
 * through a proxy that counts open requests, which shows the watch is closed when it ends.
 */
const PROMPTLY_MS = 5_000;

let namespace: string;
let store: KubeLeaseStore;
let proxy: RequestCountingProxy;
let worker: Miniflare;
let fixture: FixtureWorker;

beforeAll(async () => {
  const cluster = clusterInfo();
  namespace = await newTestNamespace("watch-workerd");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.gatewayKubeconfig);
  store = new KubeLeaseStore(kubeconfigLeaseApi(kubeConfig, 5_000), namespace);
  proxy = await startRequestCountingProxy(cluster);

  // Bundled as `wrangler deploy` bundles the gateway (same wrangler.toml).
  fixture = await startFixtureWorker("test/kube/fixtures/watch-worker.ts", {
    compatibilityFlags: ["nodejs_compat"],
    bindings: { KUBE_SERVER: proxy.url, KUBE_TOKEN: kubeConfig.getCurrentUser()!.token!, NAMESPACE: namespace },
  });
  worker = fixture.worker;
});

afterAll(async () => {
  await fixture?.dispose();
  await proxy?.close();
});

/**
 * How long the Worker keeps its request open after the wait: a watch left open would stay open
 * that long (workerd ends it only with the request), far longer than closing it takes.
 */
const HOLD_MS = 3_000;
const CLOSED_WITHIN_MS = 2_000;

/** Asks the Worker to wait for a change of `name` after `resourceVersion`. */
async function waitInWorker(name: string, resourceVersion: string, abortAfterMs = 0): Promise<{ outcome: string; ms: number }> {
  const query = new URLSearchParams({ name, resourceVersion, abortAfterMs: String(abortAfterMs), holdMs: String(HOLD_MS) });
  const response = await worker.dispatchFetch(`http://worker.test/?${query}`);
  return (await response.json()) as { outcome: string; ms: number };
}

async function watchIsOpen(): Promise<void> {
  const until = performance.now() + PROMPTLY_MS;
  while (proxy.open() === 0) {
    if (performance.now() > until) throw new Error("the Worker's watch never reached the apiserver");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("waitForChange in workerd over the fetch transport", () => {
  it("wakes on a write made while it waits, and closes its request", async () => {
    const name = `workerd-${Date.now().toString(36)}-write`;
    const revision = await store.create(name, { ttlSeconds: 30, transitions: 0 });
    const answer = waitInWorker(name, revision);
    await watchIsOpen();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(proxy.open()).toBe(1);

    const sentAt = performance.now();
    await store.replace(name, { ttlSeconds: 30, transitions: 1 }, revision);
    await proxy.settlesAt(0, CLOSED_WITHIN_MS);
    console.info(`the Worker's watch saw the write and closed ${(performance.now() - sentAt).toFixed(1)} ms after it was sent`);
    expect(await answer).toMatchObject({ outcome: "resolved" });
  });

  it("resolves on abort, and closes its request", async () => {
    const name = `workerd-${Date.now().toString(36)}-abort`;
    const revision = await store.create(name, { ttlSeconds: 30, transitions: 0 });
    const answer = waitInWorker(name, revision, 300);
    await watchIsOpen();
    await proxy.settlesAt(0, CLOSED_WITHIN_MS);
    const { outcome, ms } = await answer;
    expect(outcome).toBe("resolved");
    // It waited for the abort: nothing changed before.
    expect(ms).toBeGreaterThanOrEqual(300);
  });
});
