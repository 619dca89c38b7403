import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { OidcIssuer } from "./oidc-issuer.ts";

/** The claims of a GitHub Actions OIDC token for a job of org/app in environment production. */
export const GITHUB_JOB_CLAIMS = {
  sub: "repo:org/app:environment:production",
  ref: "refs/heads/main",
  sha: "6f1c0f5e0d9b8c1a2b3c4d5e6f708192a3b4c5d6",
  repository: "org/app",
  repository_owner: "org",
  repository_owner_id: "987654",
  repository_id: "123456789",
  repository_visibility: "private",
  run_id: "7100000001",
  run_number: "42",
  run_attempt: "1",
  actor: "octocat",
  actor_id: "583231",
  workflow: "deploy",
  workflow_ref: "org/app/.github/workflows/deploy.yml@refs/heads/main",
  job_workflow_ref: "org/app/.github/workflows/deploy.yml@refs/heads/main",
  event_name: "push",
  ref_type: "branch",
  ref_protected: "true",
  environment: "production",
  runner_environment: "github-hosted",
};

export interface ActionsTokenEndpoint {
  /** The value GitHub puts in ACTIONS_ID_TOKEN_REQUEST_URL (already has a query). */
  requestUrl: string;
  /** The value of ACTIONS_ID_TOKEN_REQUEST_TOKEN: the endpoint refuses any other bearer. */
  requestToken: string;
  /** Tokens handed out so far, in order, with the audience each was asked for. */
  issued(): Array<{ audience: string | null; jwt: string }>;
  /** Overrides claims of the tokens minted from now on. */
  setClaims(overrides: Record<string, unknown>): void;
  /** Answers this status instead of a token (undefined: back to normal). */
  failWith(status: number | undefined): void;
  /** Lifetime of the tokens minted from now on. */
  setLifetime(seconds: number): void;
  close(): Promise<void>;
}

/**
 * Emulates the GitHub Actions runtime's token endpoint: GET <request url>&audience=AUD with
 * `Authorization: Bearer <request token>` answers {"value": "<jwt>"}, a freshly minted,
 * short-lived token in GitHub's claim format, signed by `issuer`.
 */
export async function startActionsTokenEndpoint(issuer: OidcIssuer, options: { lifetimeSeconds: number }): Promise<ActionsTokenEndpoint> {
  let lifetimeSeconds = options.lifetimeSeconds;
  const requestToken = `ghs_request_${randomUUID().replaceAll("-", "")}`;
  const issued: Array<{ audience: string | null; jwt: string }> = [];
  let overrides: Record<string, unknown> = {};
  let failure: number | undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== "/_apis/token/id-token" || url.searchParams.get("api-version") !== "2.0") {
      res.writeHead(404).end();
      return;
    }
    if (req.headers.authorization !== `Bearer ${requestToken}`) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"message":"bad request token"}');
      return;
    }
    if (failure !== undefined) {
      res.writeHead(failure, { "content-type": "application/json" }).end('{"message":"refused"}');
      return;
    }
    const audience = url.searchParams.get("audience");
    const claims = { ...GITHUB_JOB_CLAIMS, jti: randomUUID(), ...overrides };
    issuer
      .mint(claims, { audience: audience ?? "https://github.com/org", expiresIn: lifetimeSeconds, notBefore: 0 })
      .then((jwt) => {
        issued.push({ audience, jwt });
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ count: 1, value: jwt }));
      })
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    requestUrl: `${base}/_apis/token/id-token?api-version=2.0`,
    requestToken,
    issued: () => [...issued],
    setClaims(value) {
      overrides = value;
    },
    failWith(status) {
      failure = status;
    },
    setLifetime(seconds) {
      lifetimeSeconds = seconds;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
