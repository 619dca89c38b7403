import { BlockList, isIP } from "node:net";
import { ConfigError } from "../src/config/load.ts";
import { type ListenAddress, listenAddress } from "../src/node/listen-address.ts";

/**
 * Variables that configure a production gateway. Development mode brings its own issuer, token
 * key and cluster; taking some settings from the environment would serve a mix of the two.
 */
const PRODUCTION_SETTINGS = [
  "LEASEGATE_CONFIG",
  "LEASEGATE_CONFIG_FILE",
  "LEASEGATE_TOKEN_KEYS",
  "LEASEGATE_KUBE_TOKEN",
  "LEASEGATE_ACCESS_CLIENT_ID",
  "LEASEGATE_ACCESS_CLIENT_SECRET",
];

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/**
 * Checks that development mode may run here and returns where it listens. It hands out a token
 * that may do everything, so it listens on loopback only, and it refuses to start beside a
 * production configuration rather than silently ignoring part of it.
 */
export function checkDevelopmentEnvironment(env: Record<string, string | undefined>): ListenAddress {
  const present = PRODUCTION_SETTINGS.filter((name) => env[name] !== undefined);
  if (present.length > 0) {
    throw new ConfigError(
      `${present.join(", ")} ${present.length === 1 ? "is" : "are"} set: \`npm start\` is development mode with its own throw-away settings; unset ${present.length === 1 ? "it" : "them"}, or run the production entry \`node src/node.ts\``,
    );
  }
  const address = listenAddress(env);
  if (!isLoopback(address.hostname)) {
    throw new ConfigError(
      `HOST=${JSON.stringify(address.hostname)} is not a loopback address: development mode serves a token that may do everything, so it listens only on 127.0.0.0/8, ::1 or localhost`,
    );
  }
  return address;
}

function isLoopback(hostname: string): boolean {
  if (hostname === "localhost") return true;
  const family = isIP(hostname);
  return family !== 0 && loopback.check(hostname, family === 4 ? "ipv4" : "ipv6");
}
