import type { ApiserverTransport } from "./apiserver-transport.ts";

/** What the apiserver was asked: the resource, or `readyz` for its readiness endpoint. */
export type ApiserverResource = "leases" | "events" | "readyz" | "other";
export type ApiserverVerb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "other";

/**
 * Told of every request sent to the apiserver once its answer (its status line and headers; a
 * watch's stream comes later) arrived or failed. `code` is the HTTP status, 0 when none came.
 */
export type ApiserverRequestObserver = (resource: ApiserverResource, verb: ApiserverVerb, code: number, seconds: number) => void;

/**
 * The transport under every Lease call, watch, `/readyz` check and Event request, measured: the
 * one place that sees each request the apiserver really gets, retries included.
 */
export function observedTransport(inner: ApiserverTransport, observer: () => ApiserverRequestObserver | undefined): ApiserverTransport {
  return async (path, init) => {
    const started = performance.now();
    let code = 0;
    try {
      const response = await inner(path, init);
      code = response.status;
      return response;
    } finally {
      const observe = observer();
      if (observe) {
        const { resource, verb } = describeRequest(init.method, path);
        try {
          observe(resource, verb, code, (performance.now() - started) / 1000);
        } catch {
          // Counting never fails a request.
        }
      }
    }
  };
}

/** The Kubernetes verb and resource of a request, from its method and URL. */
export function describeRequest(method: string, url: string): { resource: ApiserverResource; verb: ApiserverVerb } {
  const queryAt = url.indexOf("?");
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = queryAt < 0 ? "" : url.slice(queryAt + 1);
  if (/\/readyz$/.test(path)) return { resource: "readyz", verb: "get" };
  const match = /\/(leases|events)(\/[^/]+)?$/.exec(path);
  if (!match) return { resource: "other", verb: verbOf(method, false, false) };
  const named = match[2] !== undefined;
  const watching = /(^|&)watch=(1|true)(&|$)/.test(query);
  return { resource: match[1] as "leases" | "events", verb: verbOf(method, named, watching) };
}

function verbOf(method: string, named: boolean, watching: boolean): ApiserverVerb {
  switch (method.toUpperCase()) {
    case "GET":
      return watching ? "watch" : named ? "get" : "list";
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
