import { clusterLeaseApi } from "./cluster-access.ts";
import type { LeaseApi } from "./lease-api.ts";
import { serverHeaders } from "./server-headers.ts";
import { undiciTransport } from "./undici-transport.ts";

/**
 * Node only: the Lease API for `kubernetes.server`, a bearer token and extra headers sent with
 * undici (Workers send the same headers with `fetch`, fetch-lease-api.ts). TLS trusts Node's CAs,
 * NODE_EXTRA_CA_CERTS included.
 */
export function serverLeaseApi(server: string, bearerToken: string | undefined, extraHeaders: Record<string, string> | undefined, timeoutMs: number): LeaseApi {
  const headers = serverHeaders(bearerToken, extraHeaders);
  return clusterLeaseApi(undiciTransport(server, () => ({ headers })), timeoutMs);
}
