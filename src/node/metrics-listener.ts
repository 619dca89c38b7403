import { createServer, type Server } from "node:http";
import { metricsBearerCheck } from "../metrics/metrics-bearer.ts";
import { EXPOSITION_CONTENT_TYPE } from "../metrics/registry.ts";
import type { Logger } from "../http/errors.ts";
import { problemParts } from "../http/problem.ts";
import type { ListenAddress } from "./listen-address.ts";

export interface MetricsListenerOptions {
  address: ListenAddress;
  expose(): Promise<string>;
  /** When set, required here too. */
  bearerToken?: string;
  log: Logger;
}

/**
 * A listener that serves only `GET /metrics`: kept off the API's port, so that a Service or
 * ingress in front of the API never exposes it, and Prometheus scrapes the pod directly.
 * Resolves with its URL once listening, also written to stdout as `{"event":"metrics_listening"}`.
 */
export async function serveMetrics(options: MetricsListenerOptions): Promise<{ url: string; close(): Promise<void> }> {
  const authorized = options.bearerToken === undefined ? () => true : metricsBearerCheck(options.bearerToken);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const refuse = (code: "not_found" | "unauthenticated") => {
      const { status, headers, body } = problemParts(code, {}, path);
      res.writeHead(status, headers).end(body);
    };
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) return refuse("not_found");
    if (!authorized(req.headers.authorization)) return refuse("unauthenticated");
    options.expose().then(
      (text) => res.writeHead(200, { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" }).end(req.method === "HEAD" ? undefined : text),
      (err: unknown) => {
        options.log({ level: "error", msg: "metrics could not be read", error: err instanceof Error ? err.message : String(err) });
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.address.port, options.address.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : options.address.port;
  const host = options.address.hostname.includes(":") ? `[${options.address.hostname}]` : options.address.hostname;
  const url = `http://${host}:${port}`;
  process.stdout.write(`${JSON.stringify({ event: "metrics_listening", url })}\n`);
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
