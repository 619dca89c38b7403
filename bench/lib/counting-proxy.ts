/**
 * A pass-through HTTP proxy in front of the apiserver that counts every request by Kubernetes
 * verb and by what it touched, and keeps track of the watches open through it.
 *
 * Unlike test/support/fault-proxy.ts, which reads a whole answer before passing it on, this one
 * streams answers as they come: a watch delivers its events the moment the apiserver sends them,
 * so a waiter behind this proxy is woken exactly as it would be without it. Waiting is only
 * measured faithfully that way. (Request bodies are small and are read whole, to name what a
 * create makes.)
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";

/** What one apiserver request did, as Kubernetes names it. */
export type KubeVerb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "other";
export const KUBE_VERBS: KubeVerb[] = ["get", "list", "watch", "create", "update", "patch", "delete", "other"];

export interface ProxyCounts {
  /** Requests started so far, by verb (a watch counts once, when it starts). */
  byVerb: Record<KubeVerb, number>;
  /** The same by verb and by what it touched: e.g. `patch lock`, `create ticket`, `list tickets`, `watch ticket`, `create event`. */
  byTarget: Record<string, number>;
  total: number;
  /** Requests for Leases (locks and queue tickets): what a gateway's `Server-Timing` counts. */
  leases: number;
  /** When these counts were taken (performance.now()). */
  at: number;
}

/** One finished request, for a closer look than counts give (e.g. how long watches stay open). */
export interface ProxiedRequest {
  verb: KubeVerb;
  target: string;
  url: string;
  /** The apiserver's status, or 0 when none came. */
  status: number;
  ms: number;
}

export interface CountingProxy {
  /** Plain-HTTP URL to point a gateway's `kubernetes.server` (or a direct client) at. */
  url: string;
  /** Counts since the proxy started; subtract two of them for an interval. */
  counts(): ProxyCounts;
  /** Watches open through the proxy right now. */
  openWatches(): number;
  close(): Promise<void>;
}

const LEASES_PATH = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/[^/]+\/leases(?:\/([^/]+))?\/?$/;
const RESOURCE_PATH = /^\/apis?\/(?:[^/]+\/)?[^/]+\/namespaces\/[^/]+\/([^/]+)(?:\/([^/]+))?\/?$/;
const TICKET_PREFIX = "leasegate-ticket-";

/** The verb of a request, from its method and whether it names one object. */
export function kubeVerbOf(method: string, url: string): KubeVerb {
  const parsed = new URL(url, "http://proxy");
  const named = (RESOURCE_PATH.exec(parsed.pathname)?.[2] ?? "") !== "";
  switch (method) {
    case "GET":
      if (parsed.searchParams.get("watch") === "1" || parsed.searchParams.get("watch") === "true") return "watch";
      return named ? "get" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return "delete";
    default:
      return "other";
  }
}

/**
 * What a request touched: a lock's Lease, a queue ticket's Lease (named `leasegate-ticket-…`,
 * see src/kube/ticket-codec.ts), a listing of tickets (label `leasegate.io/queue-for`) or of
 * locks, or another resource by its plural name (the gateway's lock history writes `events`).
 * `createdName` is the name in a create's body.
 */
export function kubeTargetOf(verb: KubeVerb, url: string, createdName?: string): string {
  const parsed = new URL(url, "http://proxy");
  const lease = LEASES_PATH.exec(parsed.pathname);
  if (!lease) {
    const resource = RESOURCE_PATH.exec(parsed.pathname)?.[1] ?? "other";
    return `${verb} ${resource === "events" ? "event" : resource}`;
  }
  if (verb === "list") return `list ${(parsed.searchParams.get("labelSelector") ?? "").includes("leasegate.io/queue-for") ? "tickets" : "locks"}`;
  const name = verb === "watch" ? (parsed.searchParams.get("fieldSelector") ?? "").replace(/^metadata\.name=/, "") : verb === "create" ? (createdName ?? "") : decodeURIComponent(lease[1] ?? "");
  return `${verb} ${name.startsWith(TICKET_PREFIX) ? "ticket" : "lock"}`;
}

const isLeaseTarget = (target: string) => / (lock|locks|ticket|tickets)$/.test(target);

/** Headers that describe one connection, not the message: each side of the proxy sets its own. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

export function difference(later: ProxyCounts, earlier: ProxyCounts): ProxyCounts {
  const byVerb = Object.fromEntries(KUBE_VERBS.map((verb) => [verb, later.byVerb[verb] - earlier.byVerb[verb]])) as Record<KubeVerb, number>;
  const byTarget = Object.fromEntries(
    Object.entries(later.byTarget)
      .map(([target, n]) => [target, n - (earlier.byTarget[target] ?? 0)] as const)
      .filter(([, n]) => n !== 0),
  );
  return { byVerb, byTarget, total: later.total - earlier.total, leases: later.leases - earlier.leases, at: later.at - earlier.at };
}

function nameInBody(body: Buffer): string | undefined {
  try {
    const name = (JSON.parse(body.toString("utf8")) as { metadata?: { name?: unknown } }).metadata?.name;
    return typeof name === "string" ? name : undefined;
  } catch {
    return undefined;
  }
}

export async function startCountingProxy(upstream: string, caFile: string, options: { onEnd?: (request: ProxiedRequest) => void } = {}): Promise<CountingProxy> {
  const ca = readFileSync(caFile);
  const target = new URL(upstream);
  // Kept-alive TLS connections to the apiserver, as a gateway without the proxy would have.
  const agent = new Agent({ keepAlive: true, ca, maxSockets: Infinity });
  const byVerb = Object.fromEntries(KUBE_VERBS.map((verb) => [verb, 0])) as Record<KubeVerb, number>;
  const byTarget: Record<string, number> = {};
  let total = 0;
  let leases = 0;
  let watches = 0;

  const headersOf = (incoming: IncomingMessage["headers"]) => Object.fromEntries(Object.entries(incoming).filter(([name]) => !HOP_BY_HOP.has(name)));

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? "GET";
      const url = req.url ?? "/";
      const verb = kubeVerbOf(method, url);
      const targetKey = kubeTargetOf(verb, url, verb === "create" ? nameInBody(body) : undefined);
      byVerb[verb]++;
      byTarget[targetKey] = (byTarget[targetKey] ?? 0) + 1;
      total++;
      if (isLeaseTarget(targetKey)) leases++;
      if (verb === "watch") watches++;
      const startedAt = performance.now();
      let status = 0;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        if (verb === "watch") watches--;
        options.onEnd?.({ verb, target: targetKey, url, status, ms: performance.now() - startedAt });
      };
      let answered = false;
      const upstreamReq = httpsRequest(
        { hostname: target.hostname, port: target.port, path: url, method, headers: { ...headersOf(req.headers), host: target.host }, agent },
        (upstreamRes) => {
          status = upstreamRes.statusCode ?? 0;
          upstreamRes.on("end", () => {
            answered = true;
          });
          res.writeHead(status || 502, headersOf(upstreamRes.headers));
          // Flushed at once, so that the caller sees a watch's headers before its first event.
          res.flushHeaders();
          upstreamRes.pipe(res);
          upstreamRes.on("error", () => res.destroy());
        },
      );
      upstreamReq.on("error", () => {
        finish();
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      // A caller that hangs up (a waiter granted elsewhere, or gone) ends the upstream request too.
      res.on("close", () => {
        finish();
        if (!answered && !upstreamReq.destroyed) upstreamReq.destroy();
      });
      upstreamReq.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => ({ byVerb: { ...byVerb }, byTarget: { ...byTarget }, total, leases, at: performance.now() }),
    openWatches: () => watches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          agent.destroy();
          resolve();
        });
      }),
  };
}
