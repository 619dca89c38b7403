import type { ApiserverTransport } from "./apiserver-transport.ts";
import { clusterLeaseApi } from "./cluster-access.ts";
import type { LeaseApi } from "./lease-api.ts";
import { serverHeaders } from "./server-headers.ts";

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
 * The Lease API over a plain Web `fetch`: the transport used on Workers, where there is no Node
 * TLS agent, and wherever a custom fetcher must carry the traffic.
 */
export function fetchLeaseApi(options: FetchLeaseApiOptions): LeaseApi {
  return clusterLeaseApi(fetchTransport(options), options.timeoutMs);
}

export function fetchTransport(options: Omit<FetchLeaseApiOptions, "timeoutMs">): ApiserverTransport {
  const send = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
  const server = options.server.replace(/\/+$/, "");
  const fixed = serverHeaders(options.bearerToken, options.headers);
  return (path, init) => send(`${server}${path}`, { method: init.method, headers: { ...init.headers, ...fixed }, body: init.body, signal: init.signal });
}
