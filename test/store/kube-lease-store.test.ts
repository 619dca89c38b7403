import { KubeConfig } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { kubeconfigLeaseApi } from "../../src/kube/kubeconfig-lease-api.ts";
import { KubeLeaseStore } from "../../src/kube/lease-store.ts";
import { isStoreError } from "../../src/locks/lock-store.ts";
import { clusterInfo, kubectlJson, newTestNamespace } from "../support/cluster.ts";
import { lockStoreContract } from "./lock-store-contract.ts";

/** The Kubernetes store against the real apiserver, with the gateway's least-privilege identity. */
let namespace: string;
let store: KubeLeaseStore;

beforeAll(async () => {
  namespace = await newTestNamespace("store");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(clusterInfo().gatewayKubeconfig);
  store = new KubeLeaseStore(kubeconfigLeaseApi(kubeConfig, 5000), namespace);
});

/** kubectl as the cluster admin: a merge patch of the standard fields, as another Lease client writes them. */
async function patchLease(name: string, patch: unknown): Promise<void> {
  await kubectlJson(["patch", "lease", name, "-n", namespace, "--type=merge", "-p", JSON.stringify(patch), "-o", "json"]);
}

describe("KubeLeaseStore", () => {
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
});
