import type { MiddlewareHandler } from "hono";

/** The name of the one Trusted Types policy the page's script may create (see assets/client.ts). */
export const TRUSTED_TYPES_POLICY = "leasegate-fragment";

/**
 * Nothing but the gateway's own script and stylesheet runs or applies; no inline script or style
 * at all (so no hashes to keep in step), no framing, no plugins, and requests only to this origin.
 * Trusted Types make every HTML sink in the page refuse plain strings: the only HTML the script
 * inserts comes from the gateway's own fragment routes, through the one named policy.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // The page's icon is an empty data: URL, so the browser asks for no /favicon.ico.
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "require-trusted-types-for 'script'",
  `trusted-types ${TRUSTED_TYPES_POLICY}`,
].join("; ");

/** Headers on every response under /ui, pages, fragments, assets and errors alike. */
export const statusPageSecurityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header("content-security-policy", CONTENT_SECURITY_POLICY);
  c.header("x-content-type-options", "nosniff");
  c.header("referrer-policy", "no-referrer");
  // For browsers that predate frame-ancestors.
  c.header("x-frame-options", "DENY");
  c.header("cross-origin-opener-policy", "same-origin");
  c.header("cross-origin-resource-policy", "same-origin");
  // Whatever a route said, a response that is not a fingerprinted asset is never stored: pages and
  // fragments show what one viewer may read.
  if (!c.res.headers.get("cache-control")?.includes("immutable")) c.header("cache-control", "no-store");
};
