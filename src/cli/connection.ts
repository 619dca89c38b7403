import { type OptionValues, stringOption } from "./args.ts";
import { GatewayClient } from "./client.ts";
import { resolveCredentials } from "./credentials.ts";
import { configError } from "./errors.ts";
import { CLI_VERSION } from "./version.ts";

type Env = Record<string, string | undefined>;

/** The gateway's base URL from --url or LEASEGATE_URL. */
export function gatewayUrl(values: OptionValues, env: Env): string {
  const raw = stringOption(values, "url") ?? env.LEASEGATE_URL;
  if (raw === undefined || raw.trim() === "") {
    throw configError("no gateway URL: pass --url or set LEASEGATE_URL (e.g. https://leasegate.example.com)");
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw configError(`gateway URL "${raw}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw configError(`gateway URL must be http(s), not ${url.protocol}`);
  // Requests carry JWTs and lock tokens: in clear text only to this machine.
  if (url.protocol === "http:" && !isLoopback(url.hostname)) {
    throw configError(`gateway URL must use https:// (plain http:// only for loopback: 127.0.0.0/8, [::1], localhost), not ${url.origin}`);
  }
  if (url.username || url.password) throw configError("gateway URL must not contain credentials");
  if (url.search || url.hash) throw configError("gateway URL must not have a query or fragment");
  return url.toString().replace(/\/+$/, "");
}

/** 127.0.0.0/8, ::1 and localhost, as WHATWG URL parsing normalises them (`127.1` is `127.0.0.1`). */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** A client for the gateway with the caller's credentials; fails early on missing settings. */
export function connect(values: OptionValues, env: Env): GatewayClient {
  const url = gatewayUrl(values, env);
  const credentials = resolveCredentials(
    {
      token: stringOption(values, "token"),
      audience: stringOption(values, "audience"),
      gitlabIdTokenVar: stringOption(values, "gitlab-id-token-var"),
    },
    env,
  );
  return new GatewayClient({ url, credentials, userAgent: `leasegate-cli/${CLI_VERSION}` });
}
