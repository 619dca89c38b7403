import { afterAll, beforeAll } from "vitest";
import { JwtAuthenticator } from "../../src/auth/jwt-authenticator.ts";
import { Policy } from "../../src/auth/policy.ts";
import { configSchema } from "../../src/config/schema.ts";
import { createApp } from "../../src/http/app.ts";
import type { AppDeps } from "../../src/http/app-env.ts";
import { ListCursors } from "../../src/locks/list-cursor.ts";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import { TokenKeys } from "../../src/locks/lock-token.ts";
import type { Clock } from "../../src/locks/clock.ts";
import { type OidcIssuer, startOidcIssuer } from "./oidc-issuer.ts";

export const AUDIENCE = "leasegate";

/** Callers used across the HTTP tests, mapped by the policy below. */
export const POLICY = [
  { match: { sub: "team-a:*" }, actions: ["acquire", "renew", "release", "read"], locks: ["team-a-*", "shared"] },
  { match: { sub: "reader" }, actions: ["read"], locks: ["*"] },
  { match: { sub: "ops", groups: "admins" }, actions: ["admin", "read"], locks: ["*"] },
  { match: { repository_id: "42" }, actions: ["acquire", "renew", "release"], locks: ["repo-${repository_id}-*"] },
];

type Authenticator = AppDeps["authenticator"];

export interface MemoryAppOptions {
  clock?: Clock;
  log?: (e: Record<string, unknown>) => void;
  /** Wraps the real JWT authenticator, e.g. to count how often a request is authenticated. */
  authenticator?: (jwt: Authenticator) => Authenticator;
  onLockEvents?: AppDeps["onLockEvents"];
}

/** The real app over the in-memory store: fast tests of the HTTP layer with real JWTs (from one issuer or several). */
export async function memoryApp(issuers: OidcIssuer | OidcIssuer[], options: MemoryAppOptions = {}) {
  const trusted = Array.isArray(issuers) ? issuers : [issuers];
  const tokenKeys = [new Uint8Array(32).fill(7)];
  const config = configSchema.parse({
    namespace: "test",
    issuers: trusted.map((issuer) => ({ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri })),
    policy: POLICY,
    kubernetes: {},
  });
  const store = new MemoryStore();
  const jwt = await JwtAuthenticator.create(config.issuers, {});
  const app = createApp({
    config,
    store,
    authenticator: options.authenticator ? options.authenticator(jwt) : jwt,
    policy: new Policy(config.policy),
    tokens: await TokenKeys.import(tokenKeys),
    cursors: await ListCursors.import(tokenKeys),
    clock: options.clock,
    log: options.log,
    onLockEvents: options.onLockEvents,
  });
  return { app, store, config };
}

/** One issuer, the app over the in-memory store, and a token of `team-a:alice` (who may lock `team-a-*` and `shared`). */
export async function memoryAppWithAlice(options: MemoryAppOptions = {}) {
  const issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  const { app, store } = await memoryApp(issuer, options);
  return { issuer, app, store, alice: await issuer.mint({ sub: "team-a:alice" }) };
}

export type MemoryAppWithAlice = Awaited<ReturnType<typeof memoryAppWithAlice>>;

/**
 * memoryAppWithAlice for the calling test file: started before its tests, its issuer closed after
 * them. The fields are filled in when the suite starts, so tests (and later beforeAll hooks) read
 * them through the returned object.
 */
export function memoryAppWithAliceForSuite(options: MemoryAppOptions = {}): MemoryAppWithAlice {
  const suite = {} as MemoryAppWithAlice;
  beforeAll(async () => {
    Object.assign(suite, await memoryAppWithAlice(options));
  });
  afterAll(() => suite.issuer?.close());
  return suite;
}
