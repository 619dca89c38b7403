import { ConfigError } from "../config/load.ts";

export interface ListenAddress {
  hostname: string;
  port: number;
}

/**
 * PORT and HOST, checked like every other setting. An empty HOST is refused rather than passed
 * on, because Node listens on every interface when given an empty host.
 */
export function listenAddress(env: Record<string, string | undefined>): ListenAddress {
  const hostname = env.HOST ?? "127.0.0.1";
  if (hostname.trim() === "") throw new ConfigError("HOST is empty: set the address to listen on, or unset it for 127.0.0.1");
  const portText = env.PORT ?? "8080";
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) {
    throw new ConfigError(`PORT must be a TCP port number from 0 to 65535, not ${JSON.stringify(portText)}`);
  }
  return { hostname, port };
}
