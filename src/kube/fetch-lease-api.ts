import { createConfiguration } from "@kubernetes/client-node/dist/gen/configuration.js";
import { type RequestContext, ResponseContext, wrapHttpLibrary } from "@kubernetes/client-node/dist/gen/http/http.js";
import { ServerConfiguration } from "@kubernetes/client-node/dist/gen/servers.js";
import { ObjectCoordinationV1Api } from "@kubernetes/client-node/dist/gen/types/ObjectParamAPI.js";
import { apiserverReadiness } from "./apiserver-readiness.ts";
import { withClusterAccess } from "./cluster-access.ts";
import { withGoEscaping } from "./go-json-escaping.ts";
import type { LeaseApi } from "./lease-api.ts";
import { leaseWatch } from "./lease-watch.ts";
import { triageRefusals } from "./refusal-triage.ts";

export type Fetcher = (input: string, init: RequestInit) => Promise<Response>;

export interface FetchLeaseApiOptions {
  /** The apiserver, or the tunnel / proxy hostname in front of it. */
  server: string;
  /** A ServiceAccount bearer token. */
  bearerToken?: string;
  /** Extra headers on every request, e.g. Cloudflare Access service-token headers. */
  headers?: Record<string, string>;
  /** Global fetch by default; a service binding's fetch (Workers VPC) replaces it. */
  fetch?: Fetcher;
  timeoutMs: number;
}

/**
 * client-node's generated CoordinationV1Api over a plain Web `fetch`: the transport used on
 * Workers, where there is no Node TLS agent, and anywhere a custom fetcher must carry the traffic.
 */
export function fetchLeaseApi(options: FetchLeaseApiOptions): LeaseApi {
  const send = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
  const httpApi = wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const headers = new Headers(request.getHeaders());
      for (const [key, value] of Object.entries(options.headers ?? {})) headers.set(key, value);
      if (options.bearerToken) headers.set("authorization", `Bearer ${options.bearerToken}`);
      const response = await send(request.getUrl(), {
        method: request.getHttpMethod(),
        headers,
        body: withGoEscaping(request.getBody()) as BodyInit | undefined,
        // A watch brings its own signal: the request timeout would cut its stream short.
        signal: request.getSignal() ?? AbortSignal.timeout(options.timeoutMs),
      });
      const responseHeaders: Record<string, string> = {};
      response.headers.forEach((value, key) => {
        responseHeaders[key] = value;
      });
      // The body is read by whoever asked (the generated API reads it whole, a watch line by line).
      return new ResponseContext(response.status, responseHeaders, {
        text: () => response.text(),
        binary: async () => new Uint8Array(await response.arrayBuffer()) as unknown as Buffer,
        stream: () => response.body,
      });
    },
  });
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(options.server.replace(/\/+$/, ""), {}),
    httpApi,
  });
  const api = Object.assign(new ObjectCoordinationV1Api(configuration), { watchLease: leaseWatch(configuration, options.timeoutMs) });
  return withClusterAccess(configuration, triageRefusals(api as unknown as LeaseApi, apiserverReadiness(configuration)));
}
