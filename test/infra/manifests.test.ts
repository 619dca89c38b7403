import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { clusterInfo } from "../support/cluster.ts";
import { TEST_TOKEN_KEY } from "../support/gateway.ts";
import { GATEWAY_MANIFEST, type KubeObject, manifestObject, ROOT, yamlFilesUnder } from "./manifest-files.ts";

/**
 * Every manifest under infra/ as the real apiserver judges it: `kubectl apply --dry-run=server`
 * with strict field validation, so a misspelt or misplaced field fails as it would in a cluster.
 * And what no apiserver checks: that the gateway's Deployment, its ServiceAccount, ConfigMap and
 * Service fit together.
 */
const exec = promisify(execFile);
const NAMESPACE = "leasegate";

/** What `kubectl apply` would do, decided by the apiserver and stored nowhere. */
async function dryRunApply(...args: string[]): Promise<KubeObject[]> {
  const { stdout } = await exec(
    "kubectl",
    ["--kubeconfig", clusterInfo().adminKubeconfig, "apply", "--dry-run=server", "--validate=strict", "-o", "json", ...args],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  const answer = JSON.parse(stdout) as KubeObject & { items?: KubeObject[] };
  return answer.kind === "List" ? answer.items! : [answer];
}

const names = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);

/** Each manifest, how it is applied, and what it creates. */
const MANIFESTS = [
  {
    what: "the gateway's identity and RBAC (kustomize)",
    files: yamlFilesUnder("infra/k8s"),
    apply: ["-k", "infra/k8s"],
    creates: ["Namespace//leasegate", "ServiceAccount/leasegate/leasegate", "Role/leasegate/leasegate-leases", "RoleBinding/leasegate/leasegate-leases"],
  },
  {
    what: "the gateway on Node",
    files: [GATEWAY_MANIFEST],
    apply: ["-f", GATEWAY_MANIFEST],
    creates: ["ConfigMap/leasegate/leasegate-config", "Deployment/leasegate/leasegate", "Service/leasegate/leasegate"],
  },
  {
    what: "the Cloudflare Tunnel to the apiserver",
    files: ["infra/deploy/cloudflared/tunnel.yaml"],
    apply: ["-f", "infra/deploy/cloudflared/tunnel.yaml"],
    creates: ["ConfigMap/leasegate/cloudflared", "Deployment/leasegate/cloudflared"],
  },
];

describe("the manifests under infra/, applied to the real apiserver in a dry run", () => {
  beforeAll(async () => {
    // A dry run of a namespaced object needs its namespace to exist, and a dry run of the
    // Namespace does not create it. The cluster's setup applied this same file already.
    await exec("kubectl", ["--kubeconfig", clusterInfo().adminKubeconfig, "apply", "-f", "infra/k8s/namespace.yaml"], { cwd: ROOT });
  });

  it("cover every manifest file there is", () => {
    const kustomization = manifestObject("infra/k8s/kustomization.yaml", "Kustomization");
    expect(kustomization.resources.map((file: string) => `infra/k8s/${file}`).sort()).toEqual(yamlFilesUnder("infra/k8s").filter((f) => !f.endsWith("kustomization.yaml")));
    expect(MANIFESTS.flatMap((m) => m.files).sort()).toEqual([...yamlFilesUnder("infra/k8s"), ...yamlFilesUnder("infra/deploy")].sort());
  });

  it.each(MANIFESTS)("$what: accepted, and creates exactly what it should", async ({ apply, creates }) => {
    const objects = await dryRunApply(...apply);
    expect(names(objects).sort()).toEqual([...creates].sort());
  });
});

describe("the gateway's Deployment, as the other manifests expect it", () => {
  const pod = manifestObject(GATEWAY_MANIFEST, "Deployment", "leasegate").spec.template.spec;
  const container = pod.containers.find((c: { name: string }) => c.name === "gateway");
  const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value])) as Record<string, string>;

  it("runs as the ServiceAccount that infra/k8s creates and binds to the Role", () => {
    const account = manifestObject("infra/k8s/serviceaccount.yaml", "ServiceAccount");
    expect(pod.serviceAccountName).toBe(account.metadata.name);
    expect(manifestObject(GATEWAY_MANIFEST, "Deployment").metadata.namespace).toBe(account.metadata.namespace);
    expect(manifestObject("infra/k8s/rolebinding.yaml", "RoleBinding").subjects).toEqual([{ kind: "ServiceAccount", name: account.metadata.name, namespace: account.metadata.namespace }]);
  });

  it("reads a configuration the gateway accepts, from where the ConfigMap is mounted, for the lock namespace the Role is in", () => {
    const configMap = manifestObject(GATEWAY_MANIFEST, "ConfigMap", "leasegate-config");
    const volume = pod.volumes.find((v: { configMap?: { name: string } }) => v.configMap?.name === configMap.metadata.name);
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === volume.name);
    expect(env.LEASEGATE_CONFIG_FILE).toBe(`${mount.mountPath}/config.json`);
    const { config } = loadConfig({ LEASEGATE_TOKEN_KEYS: TEST_TOKEN_KEY }, { text: configMap.data["config.json"], name: "config.json" });
    expect(config.namespace).toBe(NAMESPACE);
    expect(manifestObject("infra/k8s/kustomization.yaml", "Kustomization").namespace).toBe(NAMESPACE);
    expect(config.kubernetes.inCluster).toBe(true);
  });

  it("is probed, and served by its Service, on the port it listens on", () => {
    const port = container.ports.find((p: { name: string }) => p.name === "http");
    expect(env).toMatchObject({ HOST: "0.0.0.0", PORT: String(port.containerPort) });
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    const service = manifestObject(GATEWAY_MANIFEST, "Service", "leasegate");
    expect(service.spec.selector).toEqual(manifestObject(GATEWAY_MANIFEST, "Deployment").spec.template.metadata.labels);
    expect(service.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(["http"]);
  });
});
