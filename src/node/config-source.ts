import { readFileSync } from "node:fs";
import { ConfigError, type ConfigSource } from "../config/load.ts";

/**
 * The gateway's JSON configuration on Node: inline in LEASEGATE_CONFIG, or in the file that
 * LEASEGATE_CONFIG_FILE names (a mounted ConfigMap key). Exactly one must be set; there is no
 * default to fall back on, so a missing or unreadable configuration stops start-up.
 */
export function configSource(env: Record<string, string | undefined>): ConfigSource {
  const { LEASEGATE_CONFIG: inline, LEASEGATE_CONFIG_FILE: file } = env;
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError("LEASEGATE_CONFIG and LEASEGATE_CONFIG_FILE are both set: set exactly one");
  }
  if (file === undefined) {
    if (inline === undefined) {
      throw new ConfigError(
        "LEASEGATE_CONFIG is not set (nor LEASEGATE_CONFIG_FILE): the gateway needs its JSON configuration (see README, Configuration); `npm start` runs a local development gateway instead",
      );
    }
    return { text: inline, name: "LEASEGATE_CONFIG" };
  }
  if (file.trim() === "") throw new ConfigError("LEASEGATE_CONFIG_FILE is empty: it must name the file that holds the gateway's JSON configuration");
  const name = `LEASEGATE_CONFIG_FILE (${file})`;
  try {
    return { text: readFileSync(file, "utf8"), name };
  } catch (err) {
    throw new ConfigError(`${name} cannot be read: ${(err as Error).message}`);
  }
}
