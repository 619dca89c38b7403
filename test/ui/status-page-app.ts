import type { OpenAPIHono } from "@hono/zod-openapi";
import { JwtAuthenticator } from "../../src/auth/jwt-authenticator.ts";
import { Policy } from "../../src/auth/policy.ts";
import { configSchema } from "../../src/config/schema.ts";
import { createApp } from "../../src/http/app.ts";
import type { AppDeps, AppEnv } from "../../src/http/app-env.ts";
import { ListCursors } from "../../src/locks/list-cursor.ts";
import type { LockStore } from "../../src/locks/lock-store.ts";
import { TokenKeys } from "../../src/locks/lock-token.ts";
import type { OidcIssuer } from "../support/oidc-issuer.ts";

export const AUDIENCE = "leasegate";
/** The Cloudflare Access application's audience tag; the Access team is an ordinary configured issuer. */
export const ACCESS_AUDIENCE = "access-application-aud-tag";

/**
 * The gateway configuration of the status page tests (without `namespace` and `kubernetes`):
 * pipelines (`svc-*`) take locks, `ops` and the on-call people signed in through Access
 * (identified by `email`) may force-release, `viewer` only reads `ui-*`; `ui-pool-*` locks admit
 * three holders at once.
 */
export function statusPageConfig(issuer: OidcIssuer, access?: OidcIssuer) {
  return {
    issuers: [
      { issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri },
      ...(access ? [{ issuer: access.issuer, audiences: [ACCESS_AUDIENCE], jwksUri: access.jwksUri, subjectClaim: "email" }] : []),
    ],
    policy: [
      { match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] },
      { match: { sub: "ops" }, actions: ["admin", "read"], locks: ["*"] },
      { match: { email: "*@ops.example" }, actions: ["admin", "read"], locks: ["*"] },
      { match: { sub: "viewer" }, actions: ["read"], locks: ["ui-*"] },
    ],
    semaphores: [{ locks: ["ui-pool-*"], maxHolders: 3 }],
    skewAllowanceSeconds: 0,
  };
}

/** The real app as createApp builds it (status page included), over the given lock store. */
export async function statusPageApp(options: { issuer: OidcIssuer; access?: OidcIssuer; store: LockStore; namespace: string }): Promise<OpenAPIHono<AppEnv>> {
  const tokenKeys = [new Uint8Array(32).fill(9)];
  const config = configSchema.parse({ ...statusPageConfig(options.issuer, options.access), namespace: options.namespace, kubernetes: {}, accessLog: false });
  const deps: AppDeps = {
    config,
    store: options.store,
    authenticator: await JwtAuthenticator.create(config.issuers, {}),
    policy: new Policy(config.policy),
    tokens: await TokenKeys.import(tokenKeys),
    cursors: await ListCursors.import(tokenKeys),
  };
  return createApp(deps);
}
