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
  if (url.username || url.password) throw configError("gateway URL must not contain credentials");
  if (url.search || url.hash) throw configError("gateway URL must not have a query or fragment");
  return url.toString().replace(/\/+$/, "");
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
