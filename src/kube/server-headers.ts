/**
 * The headers every request to a `kubernetes.server` carries, whichever transport sends it: the
 * ServiceAccount bearer token and any extra headers (e.g. Cloudflare Access service-token headers).
 */
export function serverHeaders(bearerToken: string | undefined, extra: Record<string, string> | undefined): Record<string, string> {
  return bearerToken ? { ...extra, authorization: `Bearer ${bearerToken}` } : { ...extra };
}
