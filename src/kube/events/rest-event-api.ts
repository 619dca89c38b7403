import type { ApiserverTransport } from "../apiserver-transport.ts";
import { exchangeJson } from "../json-request.ts";
import { leasePath } from "../lease-paths.ts";
import { EventApiError, type EventListOptions, type EventListPage, failureOfStatus, type KubeEventApi } from "./event-api.ts";
import type { KubeEvent, KubeEventSeries } from "./kube-event.ts";
import type { LeaseUids } from "./lease-uids.ts";

const EVENTS = "/apis/events.k8s.io/v1/namespaces";

/**
 * Events over the transport the Leases use: the same server, credentials and connections, on
 * Node and on Workers alike. Event times are written by hand in microseconds, as the apiserver
 * demands.
 */
export function restEventApi(transport: ApiserverTransport, timeoutMs: number, leaseUids: LeaseUids): KubeEventApi {
  const send = async (method: "GET" | "POST" | "PATCH", path: string, options: { query?: Record<string, string>; body?: unknown; contentType?: string } = {}) => {
    const search = options.query ? `?${new URLSearchParams(options.query)}` : "";
    let status: number;
    let text: string;
    try {
      ({ status, text } = await exchangeJson(transport, timeoutMs, { method, path: `${path}${search}`, body: options.body, contentType: options.contentType }));
    } catch (err) {
      // Only the error's name: its message may carry the apiserver's address.
      throw new EventApiError("unavailable", `the Kubernetes API did not answer (${err instanceof Error ? err.name : "no response"})`);
    }
    if (status < 200 || status >= 300) {
      throw new EventApiError(failureOfStatus(status), `the Kubernetes API answered ${status} to ${method} ${path.startsWith(EVENTS) ? "events" : "leases"}`, status);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new EventApiError("unavailable", `the Kubernetes API answered ${status} with a body that is not JSON`, status);
    }
  };
  const segment = encodeURIComponent;

  return {
    async create(namespace, event) {
      await send("POST", `${EVENTS}/${segment(namespace)}/events`, { body: { apiVersion: "events.k8s.io/v1", kind: "Event", ...event } });
    },

    async patchSeries(namespace, name, series: KubeEventSeries) {
      // "add" replaces a member that exists: the one patch serves the first repeat and every later one.
      await send("PATCH", `${EVENTS}/${segment(namespace)}/events/${segment(name)}`, {
        body: [{ op: "add", path: "/series", value: series }],
        contentType: "application/json-patch+json",
      });
    },

    async list(namespace, options: EventListOptions): Promise<EventListPage> {
      const query: Record<string, string> = { fieldSelector: options.fieldSelector, limit: String(options.limit) };
      if (options.continueToken) query.continue = options.continueToken;
      const list = (await send("GET", `${EVENTS}/${segment(namespace)}/events`, { query })) as { items?: KubeEvent[]; metadata?: { continue?: string } };
      return { items: Array.isArray(list.items) ? list.items : [], continueToken: list.metadata?.continue || undefined };
    },

    async leaseUid(namespace, name) {
      const known = leaseUids.get(namespace, name);
      if (known) return known;
      try {
        const lease = await send("GET", leasePath(namespace, name));
        leaseUids.remember(lease);
        return leaseUids.get(namespace, name);
      } catch (err) {
        if (err instanceof EventApiError && err.reason === "not_found") return undefined;
        throw err;
      }
    },
  };
}
