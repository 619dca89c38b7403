import { ConfigError } from "../config/load.ts";
import type { ListenAddress } from "./listen-address.ts";

/** Where Node serves `/metrics`; neither set, nowhere. */
export interface MetricsExposure {
  /** `LEASEGATE_METRICS_TOKEN`: `/metrics` on the API listener (and on the metrics listener) needs it as a bearer token. */
  bearerToken?: string;
  /** `METRICS_PORT` (and `METRICS_HOST`, 127.0.0.1 by default): a listener of its own that serves only `/metrics`. */
  listen?: ListenAddress;
}

const MIN_SECRET_LENGTH = 16;

/** The metrics settings, checked like every other one. */
export function metricsExposure(env: Record<string, string | undefined>): MetricsExposure {
  const exposure: MetricsExposure = {};
  const token = env.LEASEGATE_METRICS_TOKEN;
  if (token !== undefined) {
    if (token.length < MIN_SECRET_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
      throw new ConfigError(`LEASEGATE_METRICS_TOKEN must be at least ${MIN_SECRET_LENGTH} printable ASCII characters without spaces (openssl rand -hex 32)`);
    }
    exposure.bearerToken = token;
  }
  const portText = env.METRICS_PORT;
  if (portText !== undefined) {
    const port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port > 65535) throw new ConfigError(`METRICS_PORT must be a TCP port number from 0 to 65535, not ${JSON.stringify(portText)}`);
    const hostname = env.METRICS_HOST ?? "127.0.0.1";
    if (hostname.trim() === "") throw new ConfigError("METRICS_HOST is empty: set the address to serve metrics on, or unset it for 127.0.0.1");
    exposure.listen = { hostname, port };
  } else if (env.METRICS_HOST !== undefined) {
    throw new ConfigError("METRICS_HOST is set without METRICS_PORT");
  }
  return exposure;
}
