/**
 * Which URLs the gateway may send webhooks to. The URL is the operator's configuration, never a
 * caller's, but it still decides where a gateway with access to a cluster network sends requests,
 * so the rules close the usual ways a webhook sender is turned against its own network:
 *
 * - `https` only: lock events name holders and callers, and the signature proves who sent a
 *   message, not that nobody read it on the way. Plain `http` is allowed to loopback (a sidecar
 *   or a relay on the same host) and elsewhere only with the endpoint's explicit
 *   `allowInsecureHttp`.
 * - no link-local or unspecified addresses, whatever the scheme: 169.254.169.254 and fe80::/10
 *   are where cloud instance metadata (and its credentials) live, and no webhook receiver does.
 * - no credentials in the URL: the configuration is not secret, and the signature is how a
 *   receiver knows the sender.
 * - redirects are never followed (see the delivery), so an answer cannot move a request elsewhere.
 *
 * Names are not resolved (Workers cannot), so a DNS name that points at an internal address is
 * not caught here: the URL must come from someone trusted with the gateway's network position.
 */
export function webhookUrlProblem(text: string, allowInsecureHttp: boolean): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be an absolute URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an https URL";
  if (url.username !== "" || url.password !== "") return "must not contain credentials: receivers check the webhook signature instead";
  if (url.hash !== "") return "must not have a fragment";
  const host = hostOf(url);
  if (isLinkLocalOrUnspecified(host)) return "must not point at a link-local or unspecified address (where instance metadata lives)";
  if (url.protocol === "http:" && !allowInsecureHttp && !isLoopback(host)) {
    return "must use https (plain http only to loopback, or with allowInsecureHttp: true)";
  }
  return null;
}

/** The host as a bare name or address: IPv6 literals without their brackets, IPv4-mapped IPv6 as IPv4. */
function hostOf(url: URL): string {
  const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const high = parseInt(mapped[1]!, 16);
    const low = parseInt(mapped[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return host;
}

/** Loopback: 127.0.0.0/8, ::1 and `localhost` (and names under it, RFC 6761). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isLinkLocalOrUnspecified(host: string): boolean {
  // WHATWG URL parsing has already turned every IPv4 spelling (hex, octal, short forms) into dotted decimal.
  if (/^169\.254\.\d+\.\d+$/.test(host) || /^0\.\d+\.\d+\.\d+$/.test(host)) return true;
  if (host === "::") return true;
  // fe80::/10: the first 16 bits are fe80 to febf.
  return /^fe[89ab][0-9a-f]:/.test(host);
}
