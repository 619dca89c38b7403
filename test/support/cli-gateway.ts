import { newTestNamespace } from "./cluster.ts";
import { type GatewayHandle, startNodeGateway } from "./gateway.ts";
import { callGateway } from "./http.ts";
import { type OidcIssuer, startOidcIssuer } from "./oidc-issuer.ts";

export const CLI_AUDIENCE = "leasegate";

/** A real gateway on the test cluster for CLI tests, with callers `ci-*` (locks) and `ops` (admin). */
export interface CliGateway {
  gw: GatewayHandle;
  issuer: OidcIssuer;
  namespace: string;
  /** A JWT for `ci-<name>`. */
  jwt(name?: string): Promise<string>;
  /** A JWT for `ops`, who may read and force-release every lock. */
  opsJwt: string;
  /** The lock's status as the gateway reports it ("absent" before its first grant). */
  lockStatus(name: string): Promise<string>;
  close(): Promise<void>;
}

export function cliGatewayConfig(issuer: OidcIssuer): Record<string, unknown> {
  return {
    issuers: [{ issuer: issuer.issuer, audiences: [CLI_AUDIENCE], jwksUri: issuer.jwksUri }],
    policy: [
      { match: { sub: "ci-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] },
      { match: { sub: "ops" }, actions: ["admin", "read"], locks: ["*"] },
    ],
    skewAllowanceSeconds: 0,
  };
}

export async function startCliGateway(prefix: string): Promise<CliGateway> {
  const issuer = await startOidcIssuer({ defaultAudience: CLI_AUDIENCE });
  const namespace = await newTestNamespace(prefix);
  const gw = await startNodeGateway({ namespace, config: cliGatewayConfig(issuer) });
  const opsJwt = await issuer.mint({ sub: "ops" }, { expiresIn: 3600 });
  return {
    gw,
    issuer,
    namespace,
    opsJwt,
    jwt: (name = "runner") => issuer.mint({ sub: `ci-${name}` }, { expiresIn: 3600 }),
    async lockStatus(name) {
      const res = await callGateway(gw.url, "GET", `/locks/${name}`, { jwt: opsJwt });
      if (res.status === 404) return "absent";
      if (res.status !== 200) throw new Error(`GET /locks/${name}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.status as string;
    },
    async close() {
      await gw.stop();
      await issuer.close();
    },
  };
}
