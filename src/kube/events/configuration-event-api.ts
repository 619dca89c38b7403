import type { Configuration } from "@kubernetes/client-node/dist/gen/configuration.js";
import type { HttpMethod } from "@kubernetes/client-node/dist/gen/http/http.js";
import { EventApiError, type EventListOptions, type EventListPage, failureOfStatus, type KubeEventApi } from "./event-api.ts";
import type { KubeEvent, KubeEventSeries } from "./kube-event.ts";
import type { LeaseUids } from "./lease-uids.ts";

const EVENTS = "/apis/events.k8s.io/v1/namespaces";
const LEASES = "/apis/coordination.k8s.io/v1/namespaces";

/**
 * Events over the very client-node Configuration the Leases use: the same server, credentials
 * (bearer token, client certificate, exec plugin), middleware (timeout, shared TLS connections)
 * and transport, on Node and on Workers alike. The JSON is written here, not by client-node's
 * serializer, which would send Event times in milliseconds where the apiserver demands
 * microseconds.
 */
export function configurationEventApi(configuration: Configuration, leaseUids: LeaseUids): KubeEventApi {
  const send = async (method: string, path: string, options: { query?: Record<string, string>; body?: unknown; contentType?: string } = {}) => {
    let response;
    try {
      let request = configuration.baseServer.makeRequestContext(path, method as HttpMethod);
      for (const [name, value] of Object.entries(options.query ?? {})) request.setQueryParam(name, value);
      request.setHeaderParam("Accept", "application/json");
      if (options.body !== undefined) {
        request.setHeaderParam("Content-Type", options.contentType ?? "application/json");
        request.setBody(JSON.stringify(options.body));
      }
      await configuration.authMethods.BearerToken?.applySecurityAuthentication(request);
      await configuration.authMethods.default?.applySecurityAuthentication(request);
      for (const middleware of configuration.middleware) request = await middleware.pre(request).toPromise();
      response = await configuration.httpApi.send(request).toPromise();
    } catch (err) {
      // Only the error's name: its message may carry the apiserver's address.
      throw new EventApiError("unavailable", `the Kubernetes API did not answer (${err instanceof Error ? err.name : "no response"})`);
    }
    const text = await response.body.text().catch(() => "");
    const status = response.httpStatusCode;
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
        const lease = await send("GET", `${LEASES}/${segment(namespace)}/leases/${segment(name)}`);
        leaseUids.remember(lease);
        return leaseUids.get(namespace, name);
      } catch (err) {
        if (err instanceof EventApiError && err.reason === "not_found") return undefined;
        throw err;
      }
    },
  };
}
