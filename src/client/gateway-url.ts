import { LeasegateError } from "./errors.ts";

/** A gateway URL the client refuses to send anything to; the message says what is wrong with it. */
export class GatewayUrlError extends LeasegateError {
  override name = "GatewayUrlError";

  constructor(message: string) {
    super(message, { code: "invalid_url" });
  }
}

/**
 * The gateway's base URL, without a trailing slash. Requests carry JWTs and lock tokens: they go
 * in clear text (`http://`) only to this machine (127.0.0.0/8, [::1], localhost), and the URL may
 * not carry credentials, a query or a fragment.
 */
export function gatewayBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new GatewayUrlError(`gateway URL "${raw}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new GatewayUrlError(`gateway URL must be http(s), not ${url.protocol}`);
  if (url.protocol === "http:" && !isLoopback(url.hostname)) {
    throw new GatewayUrlError(`gateway URL must use https:// (plain http:// only for loopback: 127.0.0.0/8, [::1], localhost), not ${url.origin}`);
  }
  if (url.username || url.password) throw new GatewayUrlError("gateway URL must not contain credentials");
  if (url.search || url.hash) throw new GatewayUrlError("gateway URL must not have a query or fragment");
  return url.toString().replace(/\/+$/, "");
}

/** 127.0.0.0/8, ::1 and localhost, as WHATWG URL parsing normalises them (`127.1` is `127.0.0.1`). */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
