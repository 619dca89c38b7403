import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterInfo, newTestNamespace } from "../support/cluster.ts";
import { gatewayBearerToken, TEST_TOKEN_KEY } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type ImageLayout, layOutImage } from "./image-layout.ts";
import { GATEWAY_MANIFEST, manifestObject } from "./manifest-files.ts";

/**
 * The gateway run from nothing but the files its image holds (the Dockerfile's COPY steps and
 * its `npm ci --omit=dev`, laid out by image-layout.ts), with the Deployment's configuration and
 * environment, as the image's non-root user, against the real apiserver as the `leasegate`
 * ServiceAccount: every module it loads at run time is in the image, and it writes no file.
 */
const AUDIENCE = "leasegate";

let dir: string;
let image: ImageLayout;
let issuer: OidcIssuer;
let child: ChildProcess;
let url: string;
let logs = "";
let before: Map<string, string>;

/** Every path under a folder with its size and modification time: what a write would change. */
function snapshot(folder: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const path of readdirSync(folder, { recursive: true, encoding: "utf8" })) {
    const stat = lstatSync(join(folder, path));
    entries.set(path, `${stat.mode}:${stat.size}:${stat.mtimeMs}`);
  }
  return entries;
}

/** The Deployment's gateway container and the text of its ConfigMap's config.json. */
function deployment(): { env: Record<string, string>; config: Record<string, unknown>; configFile: string } {
  const pod = manifestObject(GATEWAY_MANIFEST, "Deployment", "leasegate").spec.template.spec;
  const container = pod.containers.find((c: { name: string }) => c.name === "gateway");
  const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value])) as Record<string, string>;
  const config = JSON.parse(manifestObject(GATEWAY_MANIFEST, "ConfigMap", "leasegate-config").data["config.json"]) as Record<string, unknown>;
  return { env, config, configFile: env.LEASEGATE_CONFIG_FILE! };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "leasegate-image-"));
  chmodSync(dir, 0o755);
  const [layout, namespace, oidc] = await Promise.all([layOutImage(dir), newTestNamespace("image"), startOidcIssuer({ defaultAudience: AUDIENCE })]);
  image = layout;
  issuer = oidc;
  const { root } = image;

  // Mounted as the pod mounts them: the ConfigMap's config.json, and (standing in for the pod's
  // service account, whose path is fixed) a kubeconfig with the ServiceAccount's token.
  const { env: podEnv, config, configFile } = deployment();
  const kubeconfigFile = "/var/run/leasegate/kubeconfig";
  const cluster = clusterInfo();
  const configured = {
    ...config,
    namespace,
    kubernetes: { kubeconfig: join(root, kubeconfigFile) },
    // The GitHub issuer cannot mint tokens here; a real issuer on loopback takes its place.
    issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
    policy: [{ match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
  };
  mkdirSync(join(root, configFile, ".."), { recursive: true });
  writeFileSync(join(root, configFile), JSON.stringify(configured));
  mkdirSync(join(root, kubeconfigFile, ".."), { recursive: true });
  writeFileSync(
    join(root, kubeconfigFile),
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "test", cluster: { server: cluster.server, "certificate-authority-data": readFileSync(cluster.caFile).toString("base64") } }],
      users: [{ name: "leasegate", user: { token: gatewayBearerToken() } }],
      contexts: [{ name: "leasegate", context: { cluster: "test", user: "leasegate" } }],
      "current-context": "leasegate",
    }),
  );
  mkdirSync(join(root, "tmp"));
  before = snapshot(root);

  // A container's environment: the image's, then the Deployment's, with paths inside the image's root.
  const env: Record<string, string> = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: root,
    TMPDIR: join(root, "tmp"),
    ...image.env,
    ...podEnv,
    LEASEGATE_CONFIG_FILE: join(root, configFile),
    LEASEGATE_TOKEN_KEYS: TEST_TOKEN_KEY,
    // Loopback and any free port on this machine, instead of the pod's own network.
    HOST: "127.0.0.1",
    PORT: "0",
  };
  const [program, ...args] = image.command;
  expect(program).toBe("node");
  // Root can write anywhere, so it runs as the image's user, who owns none of its files.
  const [uid, gid] = image.user!.split(":").map(Number);
  const user = process.getuid?.() === 0 ? { uid, gid } : {};
  child = spawn(process.execPath, args, { cwd: join(root, image.workdir), env, stdio: ["ignore", "pipe", "pipe"], ...user });
  child.stderr!.on("data", (chunk: Buffer) => (logs += chunk.toString()));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start within 30 s:\n${logs}`)), 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited with ${code}:\n${logs}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const event = JSON.parse(line) as { event?: string; url?: string };
      if (event.event === "listening" && event.url) {
        clearTimeout(timer);
        resolve(event.url);
      }
    });
  });
}, 180_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await issuer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the gateway from its image's files alone", () => {
  it("is alive, and ready: it lists Leases as the Deployment's ServiceAccount", async () => {
    expect((await callGateway(url, "GET", "/healthz")).status).toBe(200);
    const ready = await callGateway(url, "GET", "/readyz");
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);
  });

  it("grants, renews and releases a lock", async () => {
    const jwt = await issuer.mint({ sub: "svc-image" });
    const grant = await callGateway(url, "POST", "/locks/deploy/acquire", { jwt, body: { holder: "image" } });
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    expect((await callGateway(url, "POST", "/locks/deploy/renew", { jwt, body: { token: grant.body.token } })).status).toBe(200);
    expect((await callGateway(url, "POST", "/locks/deploy/release", { jwt, body: { token: grant.body.token } })).body).toEqual({ released: true });
  });

  it("wrote no file, so its root filesystem can be read-only, and warned of nothing", () => {
    const after = snapshot(image.root);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((path) => before.get(path) !== after.get(path));
    expect(changed).toEqual([]);
    expect(logs).not.toMatch(/"level":"(warn|error)"/);
  });
});
