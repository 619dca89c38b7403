import { readFileSync } from "node:fs";
import { type ClientRequest, createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";

export type Fault =
  | { kind: "pass" }
  /** Answer with this status and a Kubernetes Status body, without forwarding. */
  | { kind: "status"; status: number }
  /** Forward, then drop the connection instead of answering: the write may have landed. */
  | { kind: "drop-after-forward" }
  /** Drop the connection without forwarding. */
  | { kind: "drop" }
  /** Forward after a delay. */
  | { kind: "delay"; ms: number };

export interface FaultProxy {
  /** Plain-HTTP URL to point the gateway's `kubernetes.server` at. */
  url: string;
  /** Decides the fault for each request; called with method, path and the request's headers. */
  setRule(rule: (method: string, path: string, headers: IncomingHttpHeaders) => Fault): void;
  /** Requests seen, by method (GET/POST/PUT/PATCH…), including faulted ones, and `notReady`: those the readiness gate turned away. */
  counts(): Record<string, number>;
  /**
   * Answers the apiserver itself gave and the proxy passed on (injected faults not included), by
   * status: `readyz` for its /readyz, `api` for everything else.
   */
  answers(): { api: Record<number, number>; readyz: Record<number, number> };
  /** Clears counts and answers. */
  resetCounts(): void;
  close(): Promise<void>;
}

/**
 * An HTTP proxy between gateway and apiserver that can answer 429/5xx, stall, or cut
 * connections, and counts the requests the gateway makes. It forwards over TLS with the
 * cluster's CA, passing the gateway's own bearer token through. Answers are streamed as they
 * come, and a watch the gateway hangs up on is ended upstream too: waiters watch through it as
 * they would watch the apiserver, and no abandoned watch stays open there for its full minute.
 */
export async function startFaultProxy(
  upstream: string,
  caFile: string,
  options: {
    /**
     * Forward only while the apiserver's /readyz passes, answering 503 otherwise, as the load
     * balancer or Service in front of a production apiserver does. A restarting apiserver
     * listens before its RBAC caches are filled and meanwhile answers 403 to everyone.
     */
    readinessGate?: boolean;
  } = {},
): Promise<FaultProxy> {
  const ca = readFileSync(caFile);
  const target = new URL(upstream);
  let rule: (method: string, path: string, headers: IncomingHttpHeaders) => Fault = () => ({ kind: "pass" });
  let counts: Record<string, number> = {};
  let answers: { api: Record<number, number>; readyz: Record<number, number> } = { api: {}, readyz: {} };
  const answered = (path: string | undefined, status: number) => {
    const kind = (path ?? "").split("?")[0] === "/readyz" ? "readyz" : "api";
    answers[kind][status] = (answers[kind][status] ?? 0) + 1;
  };
  // In rotation after one passing probe, out after three failing ones in a row.
  let ready = true;
  let failures = 0;
  const probed = (ok: boolean) => {
    failures = ok ? 0 : failures + 1;
    if (ok) ready = true;
    else if (failures >= 3) ready = false;
  };
  const readiness = options.readinessGate
    ? setInterval(() => {
        const probe = httpsRequest({ hostname: target.hostname, port: target.port, path: "/readyz", ca, timeout: 1000 }, (res) => {
          probed(res.statusCode === 200);
          res.resume();
        });
        probe.on("error", () => probed(false));
        probe.on("timeout", () => probe.destroy());
        probe.end();
      }, 100)
    : undefined;

  /**
   * Forwards one request and streams the answer back (to nobody for `res` null). A watch the
   * gateway hangs up on (`hungUp`) is ended upstream as well; any other request, once forwarded,
   * runs its course, as a write that reached the apiserver does.
   */
  const inFlight = new Set<ClientRequest>();
  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse | null, hungUp: AbortSignal) =>
    new Promise<void>((resolve) => {
      const watch = new URLSearchParams((req.url ?? "").split("?")[1] ?? "").get("watch");
      const upstreamReq = httpsRequest(
        { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host }, ca },
        (upstreamRes) => {
          upstreamRes.on("end", resolve);
          upstreamRes.on("error", () => resolve());
          if (!res) {
            upstreamRes.resume();
            return;
          }
          answered(req.url, upstreamRes.statusCode ?? 0);
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
          // An answer nobody reads any more is drained, so that it still ends.
          res.on("close", () => upstreamRes.resume());
        },
      );
      inFlight.add(upstreamReq);
      upstreamReq.on("close", () => inFlight.delete(upstreamReq));
      upstreamReq.on("error", () => {
        if (res && !res.headersSent) res.writeHead(502).end();
        else res?.destroy();
        resolve();
      });
      if (watch === "1" || watch === "true") {
        const cancel = () => upstreamReq.destroy();
        if (hungUp.aborted) cancel();
        else hungUp.addEventListener("abort", cancel, { once: true });
      }
      upstreamReq.end(body);
    });

  const server = createServer((req, res) => {
    const hangUp = new AbortController();
    res.on("close", () => hangUp.abort());
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const method = req.method ?? "GET";
      counts[method] = (counts[method] ?? 0) + 1;
      if (!ready) counts.notReady = (counts.notReady ?? 0) + 1;
      const fault: Fault = ready ? rule(method, req.url ?? "/", req.headers) : { kind: "status", status: 503 };
      const body = Buffer.concat(chunks);
      switch (fault.kind) {
        case "status":
          res
            .writeHead(fault.status, { "content-type": "application/json" })
            .end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message: "injected fault", code: fault.status }));
          return;
        case "drop":
          req.socket.destroy();
          return;
        case "drop-after-forward":
          await forward(req, body, null, hangUp.signal);
          req.socket.destroy();
          return;
        case "delay":
          await new Promise((r) => setTimeout(r, fault.ms));
          await forward(req, body, res, hangUp.signal);
          return;
        default:
          await forward(req, body, res, hangUp.signal);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setRule: (r) => {
      rule = r;
    },
    counts: () => ({ ...counts }),
    answers: () => ({ api: { ...answers.api }, readyz: { ...answers.readyz } }),
    resetCounts: () => {
      counts = {};
      answers = { api: {}, readyz: {} };
    },
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(readiness);
        for (const upstreamReq of inFlight) upstreamReq.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
