import { readFileSync } from "node:fs";
import { createSecureServer } from "node:http2";
import { request as httpsRequest } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import type { ClusterInfo } from "../../infra/test-cluster/cluster.ts";

export interface RequestCountingProxy {
  /** An https URL the apiserver's own certificate is valid for, so clients keep verifying it. */
  url: string;
  /** Requests whose answer is still open. */
  open(): number;
  /** Resolves once at most `count` requests are open; rejects after `ms`. */
  settlesAt(count: number, ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Hop-by-hop fields (RFC 9110 §7.6.1), and HTTP/2 pseudo-header fields, are not forwarded. */
const NOT_FORWARDED = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host"]);
const forwardable = (headers: Record<string, string | string[] | undefined>) =>
  Object.fromEntries(Object.entries(headers).filter(([name, value]) => value !== undefined && !name.startsWith(":") && !NOT_FORWARDED.has(name)));

/**
 * An HTTPS proxy in front of the apiserver that streams answers through and counts the requests
 * still open, over HTTP/1.1 and HTTP/2 alike: an abandoned watch on HTTP/2 leaves its connection
 * in the pool for other requests, so only the request (stream) tells whether it was closed. It
 * presents the apiserver's own certificate, so clients verify it against the cluster's CA.
 */
export async function startRequestCountingProxy(cluster: Pick<ClusterInfo, "server" | "caFile" | "dir">): Promise<RequestCountingProxy> {
  const upstream = new URL(cluster.server);
  const ca = readFileSync(cluster.caFile);
  let open = 0;
  const server = createSecureServer(
    { allowHTTP1: true, cert: readFileSync(join(cluster.dir, "apiserver.crt")), key: readFileSync(join(cluster.dir, "apiserver.key")) },
    (req, res) => {
      open++;
      const forwarded = httpsRequest(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: forwardable(req.headers), ca },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
          answer.pipe(res);
        },
      );
      forwarded.on("error", () => res.destroy());
      res.on("close", () => {
        open--;
        forwarded.destroy();
      });
      req.pipe(forwarded);
    },
  );
  const connections = new Set<Socket>();
  server.on("secureConnection", (socket: Socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open: () => open,
    async settlesAt(count, ms) {
      const until = performance.now() + ms;
      while (open > count) {
        if (performance.now() > until) throw new Error(`${open} requests still open after ${ms} ms, expected at most ${count}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle HTTP/2 sessions and keep-alive connections would hold the server open.
        for (const socket of connections) socket.destroy();
      }),
  };
}
