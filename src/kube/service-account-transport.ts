import { readFileSync } from "node:fs";
import { isIPv6 } from "node:net";
import { Agent } from "undici";
import type { ApiserverTransport } from "./apiserver-transport.ts";
import { undiciTransport } from "./undici-transport.ts";

/** Where Kubernetes mounts a pod's service account: its token and the cluster's CA. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * How long a token read from the file is used before the file is read again. The kubelet
 * rewrites a projected token well before it expires (at 80 % of its life); client-go re-reads
 * at the same interval.
 */
export const TOKEN_REREAD_MS = 60_000;

export interface ServiceAccountOptions {
  /** The pod's environment: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT name the apiserver. */
  env: Record<string, string | undefined>;
  /** The mounted service account; tests point it elsewhere. */
  dir?: string;
  /** Monotonic milliseconds; a test passes its own. */
  now?: () => number;
}

/**
 * Node only: the pod's own service account, read as client-go's in-cluster configuration reads
 * it, with no kubeconfig machinery loaded. The CA is read once (connections are kept on one
 * dispatcher); the token is read again every TOKEN_REREAD_MS, so a rotated token is picked up.
 */
export function serviceAccountTransport(options: ServiceAccountOptions): ApiserverTransport {
  const { env } = options;
  const dir = options.dir ?? SERVICE_ACCOUNT_DIR;
  const now = options.now ?? (() => performance.now());
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  const port = env.KUBERNETES_SERVICE_PORT?.trim();
  if (!host || !port) {
    throw new Error("not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
  }
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  // TCP keep-alive probes after 30 s, as client-go sends them, so load balancers keep idle connections.
  const dispatcher = new Agent({ connect: { ca: readFileSync(`${dir}/ca.crt`), keepAlive: true, keepAliveInitialDelay: 30_000 } });

  let token: string | undefined;
  let readAt = 0;
  const bearer = (): string => {
    if (token === undefined || now() - readAt >= TOKEN_REREAD_MS) {
      token = readFileSync(`${dir}/token`, "utf8").trim();
      readAt = now();
    }
    return token;
  };

  return undiciTransport(server, () => ({ headers: { authorization: `Bearer ${bearer()}` }, dispatcher }));
}
