import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterLeaseApi } from "../../src/kube/cluster-access.ts";
import { fetchLeaseApi } from "../../src/kube/fetch-lease-api.ts";
import { kubeconfigLeaseApi } from "../../src/kube/kubeconfig-lease-api.ts";
import type { LeaseApi } from "../../src/kube/lease-api.ts";
import { KubeLeaseStore } from "../../src/kube/lease-store.ts";
import { serviceAccountTransport } from "../../src/kube/service-account-transport.ts";
import { isStoreError } from "../../src/locks/lock-store.ts";
import { clusterInfo, kubectlJson, newTestNamespace } from "../support/cluster.ts";
import { type RequestCountingProxy, startRequestCountingProxy } from "../kube/request-counting-proxy.ts";
import { lockStoreContract } from "./lock-store-contract.ts";

/** The gateway's least-privilege identity, as its kubeconfig says, optionally reached at another address. */
function gatewayKubeConfig(server?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(clusterInfo().gatewayKubeconfig);
  if (!server) return kubeConfig;
  const moved = new KubeConfig();
  moved.loadFromOptions({
    clusters: kubeConfig.clusters.map((cluster) => ({ ...cluster, server })),
    users: kubeConfig.users,
    contexts: kubeConfig.contexts,
    currentContext: kubeConfig.currentContext,
  });
  return moved;
}

/** The same identity's bearer token, for the fetch transport (the apiserver's CA comes from NODE_EXTRA_CA_CERTS). */
function gatewayBearerToken(): string {
  const token = gatewayKubeConfig().getCurrentUser()?.token;
  if (!token) throw new Error("the gateway kubeconfig has no bearer token");
  return token;
}

/** The same identity mounted as a pod's service account is (token and CA files), and the pod's environment. */
function podServiceAccount(server: string) {
  const dir = mkdtempSync(join(tmpdir(), "leasegate-sa-"));
  writeFileSync(join(dir, "token"), `${gatewayBearerToken()}\n`);
  writeFileSync(join(dir, "ca.crt"), readFileSync(clusterInfo().caFile));
  const url = new URL(server);
  return { dir, env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port } };
}

/** Every transport that builds a LeaseApi, each at the given apiserver address. */
const transports: Array<[string, (server: string) => LeaseApi]> = [
  ["the kubeconfig transport (client-node)", (server) => kubeconfigLeaseApi(gatewayKubeConfig(server), 5000)],
  ["the fetch transport (bearer token)", (server) => fetchLeaseApi({ server, bearerToken: gatewayBearerToken(), timeoutMs: 5000 })],
  ["the pod's service account (inCluster)", (server) => clusterLeaseApi(serviceAccountTransport(podServiceAccount(server)), 5000)],
];

/** A bound far above what a working watch needs, far below its 60 s timeout. */
const PROMPTLY_MS = 5_000;

describe.each(transports)("KubeLeaseStore over %s", (_, leaseApi) => {
  let namespace: string;
  let store: KubeLeaseStore;

  beforeAll(async () => {
    namespace = await newTestNamespace("store");
    store = new KubeLeaseStore(leaseApi(clusterInfo().server), namespace);
  });

  /** kubectl as the cluster admin: a merge patch of the standard fields, as another Lease client writes them. */
  async function patchLease(name: string, patch: unknown): Promise<void> {
    await kubectlJson(["patch", "lease", name, "-n", namespace, "--type=merge", "-p", JSON.stringify(patch), "-o", "json"]);
  }

  lockStoreContract(async () => ({
    store,
    async writeAsOtherClient(name, holder) {
      await patchLease(name, {
        spec: { holderIdentity: holder.holderIdentity, renewTime: holder.renewedAt.toISOString().replace("Z", "000Z"), leaseDurationSeconds: holder.ttlSeconds },
      });
    },
  }));

  it("never touches a Lease whose managed-by label was removed, and no longer reads it as a lock", async () => {
    const record = {
      holderIdentity: "alice",
      grant: { subject: "alice", verifier: "v", fencingToken: "5", metadata: {} },
      ttlSeconds: 30,
      acquiredAt: new Date(),
      renewedAt: new Date(),
      transitions: 0,
    };
    await store.create("unlabelled", record);
    await kubectlJson(["label", "lease", "unlabelled", "-n", namespace, "app.kubernetes.io/managed-by-", "-o", "json"]);
    const before = await kubectlJson(["get", "lease", "unlabelled", "-n", namespace, "-o", "json"]);
    const claim = { holderIdentity: "alice", verifier: "v", fencingToken: "5" };
    const err = await store.updateHeld("unlabelled", claim, { kind: "release" }).catch((e: unknown) => e);
    expect(isStoreError(err, "precondition_failed")).toBe(true);
    expect(isStoreError(await store.get("unlabelled").catch((e: unknown) => e), "not_managed")).toBe(true);
    const after = await kubectlJson(["get", "lease", "unlabelled", "-n", namespace, "-o", "json"]);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  describe("waitForChange on the apiserver", () => {
    let proxy: RequestCountingProxy;
    /** The same store, with its own connections, through a proxy that counts its open requests. */
    let proxied: KubeLeaseStore;
    let lock = 0;
    const freshName = () => `watched-${Date.now().toString(36)}-${lock++}`;
    const free = { ttlSeconds: 30, transitions: 0 };

    beforeAll(async () => {
      proxy = await startRequestCountingProxy(clusterInfo());
      proxied = new KubeLeaseStore(leaseApi(proxy.url), namespace);
    });
    afterAll(() => proxy.close());

    const within = (ms: number, settled: Promise<unknown>) =>
      Promise.race([settled.then(() => "resolved"), new Promise<string>((resolve) => setTimeout(() => resolve("pending"), ms))]);
    /** Waits until the watch, the only request sent through the proxy, is open. */
    async function watchIsOpen(): Promise<void> {
      const until = performance.now() + PROMPTLY_MS;
      while (proxy.open() === 0) {
        if (performance.now() > until) throw new Error("the watch never connected");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }

    it("resolves when the Lease is deleted", async () => {
      const name = freshName();
      const revision = await store.create(name, free);
      const controller = new AbortController();
      const waiting = store.waitForChange(name, revision, controller.signal);
      try {
        expect(await within(100, waiting)).toBe("pending");
        await kubectlJson(["delete", "--raw", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`]);
        expect(await within(PROMPTLY_MS, waiting)).toBe("resolved");
      } finally {
        controller.abort();
      }
    });

    it("closes its request when the signal aborts", async () => {
      const name = freshName();
      const revision = await store.create(name, free);
      const controller = new AbortController();
      const waiting = proxied.waitForChange(name, revision, controller.signal);
      await watchIsOpen();
      expect(await within(200, waiting)).toBe("pending");
      controller.abort();
      expect(await within(PROMPTLY_MS, waiting)).toBe("resolved");
      await proxy.settlesAt(0, PROMPTLY_MS);
    });

    it("closes its request once it has seen the change", async () => {
      const name = freshName();
      const revision = await store.create(name, free);
      const controller = new AbortController();
      const waiting = proxied.waitForChange(name, revision, controller.signal);
      try {
        await watchIsOpen();
        await store.replace(name, { ...free, transitions: 1 }, revision);
        expect(await within(PROMPTLY_MS, waiting)).toBe("resolved");
        await proxy.settlesAt(0, PROMPTLY_MS);
      } finally {
        controller.abort();
      }
    });

    it("rejects 'forbidden' where the gateway's identity may not watch Leases", async () => {
      const elsewhere = new KubeLeaseStore(leaseApi(clusterInfo().server), "kube-system");
      const controller = new AbortController();
      const err = await elsewhere.waitForChange("anything", "1", controller.signal).then(
        () => "resolved",
        (e: unknown) => e,
      );
      controller.abort();
      expect(isStoreError(err, "forbidden")).toBe(true);
      expect((err as Error).message).toContain('may not watch coordination.k8s.io/leases in namespace "kube-system"');
    });
  });
});
