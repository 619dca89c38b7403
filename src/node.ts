/**
 * The Node entry: reads configuration, connects to Kubernetes (or starts the local cluster when
 * none is configured), and serves the app with @hono/node-server.
 */
import { readFileSync } from "node:fs";
import { createServer, STATUS_CODES } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { ConfigError, loadConfig } from "./config/load.ts";
import { createGateway } from "./gateway.ts";
import { problemParts } from "./http/problem.ts";
import { KubeLeaseStore } from "./kube/lease-store.ts";
import { devDefaults } from "./node/dev-defaults.ts";
import { leaseApiFromConfig, loadFile } from "./node/lease-api-from-config.ts";
import { kubeconfigLeaseApi } from "./kube/kubeconfig-lease-api.ts";

const log = (entry: Record<string, unknown>) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);

async function main(): Promise<void> {
  const env = { ...process.env };
  const cleanups: Array<() => Promise<void>> = [];
  let dev: Awaited<ReturnType<typeof devDefaults>> | undefined;

  if (env.LEASEGATE_CONFIG_FILE) env.LEASEGATE_CONFIG = readFileSync(env.LEASEGATE_CONFIG_FILE, "utf8");
  if (!env.LEASEGATE_CONFIG) {
    dev = await devDefaults();
    env.LEASEGATE_CONFIG = dev.configText;
    env.LEASEGATE_TOKEN_KEYS ??= dev.tokenKeys;
    log({ level: "warn", msg: "no LEASEGATE_CONFIG: development mode with a throw-away issuer (never use in production)" });
  }
  const loaded = loadConfig(env);

  let api = leaseApiFromConfig(loaded, env);
  if (!api) {
    log({ level: "info", msg: "no cluster configured: starting the local kube-apiserver (infra/test-cluster)" });
    const { startCluster } = await import("../infra/test-cluster/cluster.ts");
    const cluster = await startCluster();
    cleanups.push(() => cluster.stop());
    api = kubeconfigLeaseApi(loadFile(cluster.gatewayKubeconfig), loaded.config.kubernetes.requestTimeoutMs);
    log({ level: "info", msg: "local cluster ready", kubectl: `kubectl --kubeconfig ${cluster.adminKubeconfig} get leases -A` });
  }

  const app = await createGateway({ loaded, store: new KubeLeaseStore(api, loaded.config.namespace), env, log });
  const port = Number(env.PORT ?? 8080);
  const hostname = env.HOST ?? "127.0.0.1";
  const server = createServer(
    getRequestListener(app.fetch, {
      hostname,
      // Node parsed the request but it has no Fetch API form (a Host that is not a host, say).
      errorHandler: () => {
        const { status, headers, body } = problemParts("invalid_request", { detail: "the request's URL or Host header is malformed" });
        return new Response(body, { status, headers });
      },
    }),
  );
  // Requests Node's HTTP parser refuses never reach the app; they still get a problem document.
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const code = err.code === "HPE_HEADER_OVERFLOW" ? "headers_too_large" : "invalid_request";
    const { status, headers, body } = problemParts(code, { detail: "the request is not valid HTTP/1.1" });
    const head = Object.entries({ ...headers, "content-length": String(Buffer.byteLength(body)), connection: "close" })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`);
  });
  server.listen(port, hostname, () => {
    const address = server.address();
    const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${typeof address === "object" && address ? address.port : port}`;
    process.stdout.write(`${JSON.stringify({ event: "listening", url })}\n`);
    if (dev) {
      void dev.mint("dev-local").then((jwt) => {
        log({ level: "info", msg: "development token (sub dev-local, 12h)", hint: `export TOKEN=${jwt}` });
        log({ level: "info", msg: "try it", hint: `curl -s -X POST -H "authorization: Bearer $TOKEN" ${url}/locks/demo/acquire` });
      });
    }
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ level: "info", msg: "shutting down", signal });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : `start-up failed: ${err instanceof Error ? err.message : String(err)}`;
  process.stderr.write(`leasegate: ${message}\n`);
  process.exit(1);
});
