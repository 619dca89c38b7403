import { gatewayBaseUrl, GatewayUrlError } from "../client/gateway-url.ts";
import { LeasegateClient } from "../client/leasegate-client.ts";
import { type OptionValues, stringOption } from "./args.ts";
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
  try {
    return gatewayBaseUrl(raw);
  } catch (err) {
    if (err instanceof GatewayUrlError) throw configError(err.message);
    throw err;
  }
}

/** A client for the gateway with the caller's credentials; fails early on missing settings. */
export function connect(values: OptionValues, env: Env): LeasegateClient {
  const url = gatewayUrl(values, env);
  const credentials = resolveCredentials(
    {
      token: stringOption(values, "token"),
      audience: stringOption(values, "audience"),
      gitlabIdTokenVar: stringOption(values, "gitlab-id-token-var"),
    },
    env,
  );
  return new LeasegateClient({ url, credentials, userAgent: `leasegate-cli/${CLI_VERSION}` });
}
