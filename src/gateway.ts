import type { OpenAPIHono } from "@hono/zod-openapi";
import { JwtAuthenticator } from "./auth/jwt-authenticator.ts";
import { Policy } from "./auth/policy.ts";
import type { LoadedConfig } from "./config/load.ts";
import { createApp } from "./http/app.ts";
import type { AppEnv } from "./http/app-env.ts";
import type { Logger } from "./http/errors.ts";
import type { Clock } from "./locks/clock.ts";
import { ListCursors } from "./locks/list-cursor.ts";
import type { LockStore } from "./locks/lock-store.ts";
import { TokenKeys } from "./locks/lock-token.ts";

export interface GatewayOptions {
  loaded: LoadedConfig;
  store: LockStore;
  /** For HS256 issuers' secrets, named in the configuration. */
  env: Record<string, string | undefined>;
  log?: Logger;
  clock?: Clock;
}

/** Wires configuration, credentials and a lock store into the app; shared by every entry point. */
export async function createGateway(options: GatewayOptions): Promise<OpenAPIHono<AppEnv>> {
  const { config, tokenKeys } = options.loaded;
  return createApp({
    config,
    store: options.store,
    authenticator: await JwtAuthenticator.create(config.issuers, options.env, {
      verifiedTokenCacheSeconds: config.verifiedTokenCacheSeconds,
      verifiedTokenCacheEntries: config.verifiedTokenCacheEntries,
    }),
    policy: new Policy(config.policy),
    tokens: await TokenKeys.import(tokenKeys),
    cursors: await ListCursors.import(tokenKeys),
    clock: options.clock,
    log: options.log,
  });
}
