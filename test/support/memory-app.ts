import { JwtAuthenticator } from "../../src/auth/jwt-authenticator.ts";
import { Policy } from "../../src/auth/policy.ts";
import { configSchema } from "../../src/config/schema.ts";
import { createApp } from "../../src/http/app.ts";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import { TokenKeys } from "../../src/locks/lock-token.ts";
import type { Clock } from "../../src/locks/clock.ts";
import type { OidcIssuer } from "./oidc-issuer.ts";

export const AUDIENCE = "leasegate";

/** Callers used across the HTTP tests, mapped by the policy below. */
export const POLICY = [
  { match: { sub: "team-a:*" }, actions: ["acquire", "renew", "release", "read"], locks: ["team-a-*", "shared"] },
  { match: { sub: "reader" }, actions: ["read"], locks: ["*"] },
  { match: { sub: "ops", groups: "admins" }, actions: ["admin", "read"], locks: ["*"] },
  { match: { repository_id: "42" }, actions: ["acquire", "renew", "release"], locks: ["repo-${repository_id}-*"] },
];

/** The real app over the in-memory store: fast tests of the HTTP layer with real JWTs. */
export async function memoryApp(issuer: OidcIssuer, options: { clock?: Clock; log?: (e: Record<string, unknown>) => void } = {}) {
  const config = configSchema.parse({
    namespace: "test",
    issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
    policy: POLICY,
    kubernetes: {},
  });
  const store = new MemoryStore();
  const app = createApp({
    config,
    store,
    authenticator: await JwtAuthenticator.create(config.issuers, {}),
    policy: new Policy(config.policy),
    tokens: await TokenKeys.import([new Uint8Array(32).fill(7)]),
    clock: options.clock,
    log: options.log,
  });
  return { app, store, config };
}
