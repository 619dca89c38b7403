import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { serviceAccountTransport, TOKEN_REREAD_MS } from "../../src/kube/service-account-transport.ts";
import { clusterInfo } from "../support/cluster.ts";

/**
 * A gateway in a pod (`inCluster`) reads its service account as Kubernetes mounts it; here the
 * mount is a directory with the test cluster's CA and the gateway identity's token, and the
 * pod's environment names the real apiserver. The whole store contract also runs over this
 * transport (test/store).
 */
function mountedServiceAccount(token: string) {
  const dir = mkdtempSync(join(tmpdir(), "leasegate-sa-"));
  writeFileSync(join(dir, "token"), token);
  writeFileSync(join(dir, "ca.crt"), readFileSync(clusterInfo().caFile));
  const url = new URL(clusterInfo().server);
  return { dir, env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port } };
}

function gatewayToken(): string {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(clusterInfo().gatewayKubeconfig);
  return kubeConfig.getCurrentUser()!.token!;
}

const readyz = { method: "GET", headers: {}, signal: AbortSignal.timeout(5_000) } as const;

describe("the pod's service account as the gateway's apiserver transport", () => {
  it("verifies the apiserver against the mounted CA and sends the mounted token", async () => {
    const send = serviceAccountTransport(mountedServiceAccount(gatewayToken()));
    const answer = await send("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?limit=1", readyz);
    // Authenticated as the gateway, which may not read kube-system: the apiserver knew who asked.
    expect(answer.status).toBe(403);
    expect((JSON.parse(await answer.text()) as { message: string }).message).toContain("system:serviceaccount:");
  });

  it("reads a rotated token once the last read is a minute old, not before", async () => {
    let clock = 0;
    const mount = mountedServiceAccount("expired-token");
    const send = serviceAccountTransport({ ...mount, now: () => clock });
    expect((await send("/readyz", readyz)).status).toBe(401);

    writeFileSync(join(mount.dir, "token"), `${gatewayToken()}\n`);
    clock += TOKEN_REREAD_MS - 1;
    expect((await send("/readyz", readyz)).status).toBe(401);
    clock += 1;
    expect((await send("/readyz", readyz)).status).toBe(200);
  });

  it("refuses to start outside a pod, and brackets an IPv6 service address", async () => {
    const mount = mountedServiceAccount(gatewayToken());
    expect(() => serviceAccountTransport({ ...mount, env: {} })).toThrow(/KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/);
    const send = serviceAccountTransport({ ...mount, env: { KUBERNETES_SERVICE_HOST: "::1", KUBERNETES_SERVICE_PORT: "65535" } });
    // Nothing listens on [::1]:65535: the URL was well formed, the connection is what failed.
    await expect(send("/readyz", readyz)).rejects.toMatchObject({ code: "ECONNREFUSED", address: "::1" });
  });
});
