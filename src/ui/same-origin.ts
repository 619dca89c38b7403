import type { Context } from "hono";

/**
 * Whether a state-changing request comes from the page itself. A browser attaches the Cloudflare
 * Access cookie (and Access then its header) to cross-site requests too, so writes also need:
 * - the browser's own word that the request is same-origin (`Sec-Fetch-Site`, sent by every
 *   current browser), or failing that an `Origin` naming this host;
 * - a JSON body: a cross-site form cannot send one, and a cross-site script would need a CORS
 *   preflight, which this gateway never grants.
 */
export function sameOriginProblem(c: Context): "cross_site" | "not_json" | null {
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined) {
    if (site !== "same-origin") return "cross_site";
  } else {
    const origin = c.req.header("origin");
    // Compared by host: behind a TLS-terminating proxy the gateway sees http:// for an https:// page.
    if (origin !== undefined && hostOf(origin) !== c.req.header("host")) return "cross_site";
  }
  const mediaType = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  return mediaType === "application/json" ? null : "not_json";
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
