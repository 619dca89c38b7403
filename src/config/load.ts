import { z } from "zod";
import { type Config, configSchema, secretsSchema } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface LoadedConfig {
  config: Config;
  tokenKeys: Uint8Array[];
  kubeToken?: string;
  accessHeaders?: Record<string, string>;
}

/** Where the JSON configuration came from, under the name that error messages use for it. */
export interface ConfigSource {
  text: string | undefined;
  name: string;
}

/** Parses and validates every setting once; the error names each bad setting. */
export function loadConfig(
  env: Record<string, string | undefined>,
  source: ConfigSource = { text: env.LEASEGATE_CONFIG, name: "LEASEGATE_CONFIG" },
): LoadedConfig {
  if (source.text === undefined) {
    throw new ConfigError(`${source.name} is not set: it must hold the gateway's JSON configuration (see README, Configuration)`);
  }
  // An empty value is a mistake (an empty ConfigMap key, a variable set to nothing), never a request for defaults.
  if (source.text.trim() === "") {
    throw new ConfigError(`${source.name} is empty: it must hold the gateway's JSON configuration (see README, Configuration)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(source.text);
  } catch (err) {
    // The parser quotes the text it choked on, line breaks included; the message stays one line.
    throw new ConfigError(`${source.name} is not valid JSON: ${(err as Error).message.replace(/\s+/g, " ")}`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid configuration in ${source.name}:\n${describe(parsed.error, "LEASEGATE_CONFIG")}`);

  const secrets = secretsSchema.safeParse(env);
  if (!secrets.success) throw new ConfigError(`invalid secrets:\n${describe(secrets.error)}`);
  const tokenKeys = secrets.data.LEASEGATE_TOKEN_KEYS.map((text, i) => {
    const bytes = decodeKey(text);
    if (!bytes || bytes.length < 32) {
      throw new ConfigError(`  - LEASEGATE_TOKEN_KEYS[${i}]: must be base64 or base64url of at least 32 random bytes`);
    }
    return bytes;
  });

  const { LEASEGATE_ACCESS_CLIENT_ID: id, LEASEGATE_ACCESS_CLIENT_SECRET: secret } = secrets.data;
  if (Boolean(id) !== Boolean(secret)) {
    throw new ConfigError("  - LEASEGATE_ACCESS_CLIENT_ID and LEASEGATE_ACCESS_CLIENT_SECRET must be set together");
  }
  return {
    config: parsed.data,
    tokenKeys,
    kubeToken: secrets.data.LEASEGATE_KUBE_TOKEN,
    accessHeaders: id && secret ? { "CF-Access-Client-Id": id, "CF-Access-Client-Secret": secret } : undefined,
  };
}

function describe(error: z.ZodError, root?: string): string {
  return error.issues
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].filter(Boolean).join(".");
      return `  - ${path || "(root)"}: ${issue.message}`;
    })
    .join("\n");
}

function decodeKey(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, ""));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}
