import { CliError, configError } from "./errors.ts";
import { ExitCode } from "./exit-codes.ts";
import { networkCause } from "./network-cause.ts";

/** Where bearer tokens for the gateway come from. */
export interface Credentials {
  /** Names the source in messages (never the token itself). */
  readonly source: string;
  /** A token for the next request. GitHub Actions tokens are fetched fresh every time. */
  token(): Promise<string>;
}

export interface CredentialOptions {
  token?: string;
  audience?: string;
  gitlabIdTokenVar?: string;
}

export const DEFAULT_AUDIENCE = "leasegate";
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

type Env = Record<string, string | undefined>;

/**
 * Picks the credentials, in this order: --token / LEASEGATE_TOKEN; a GitLab id_tokens variable
 * (--gitlab-id-token-var / LEASEGATE_GITLAB_ID_TOKEN_VAR); GitHub Actions' OIDC token endpoint.
 */
export function resolveCredentials(options: CredentialOptions, env: Env): Credentials {
  const explicit = options.token ?? env.LEASEGATE_TOKEN;
  if (explicit !== undefined) {
    const source = options.token !== undefined ? "--token" : "LEASEGATE_TOKEN";
    return staticToken(explicit, source);
  }

  const gitlabVar = options.gitlabIdTokenVar ?? env.LEASEGATE_GITLAB_ID_TOKEN_VAR;
  if (gitlabVar !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(gitlabVar)) throw configError(`--gitlab-id-token-var: "${gitlabVar}" is not an environment variable name`);
    const value = env[gitlabVar];
    if (!value?.trim()) {
      throw configError(`no credentials: $${gitlabVar} is empty or unset; declare it under id_tokens: in .gitlab-ci.yml (aud: the gateway's audience)`);
    }
    return staticToken(value, `$${gitlabVar} (GitLab id_tokens)`);
  }

  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) {
    const audience = options.audience ?? env.LEASEGATE_AUDIENCE ?? DEFAULT_AUDIENCE;
    return githubActionsOidc(requestUrl, requestToken, audience);
  }

  if (env.GITHUB_ACTIONS === "true") {
    throw configError("no credentials: this GitHub Actions job cannot request an OIDC token; add `permissions: id-token: write` to the workflow or job (or pass --token / LEASEGATE_TOKEN)");
  }
  if (env.GITLAB_CI === "true") {
    throw configError("no credentials: declare an ID token under id_tokens: in .gitlab-ci.yml and name its variable with --gitlab-id-token-var or LEASEGATE_GITLAB_ID_TOKEN_VAR (or pass --token / LEASEGATE_TOKEN)");
  }
  throw configError("no credentials: pass --token or set LEASEGATE_TOKEN to a JWT the gateway trusts (in CI: GitHub Actions OIDC or --gitlab-id-token-var)");
}

function staticToken(raw: string, source: string): Credentials {
  const token = raw.trim();
  if (!token) throw configError(`no credentials: ${source} is empty`);
  if (!JWT_SHAPE.test(token)) throw configError(`${source} does not look like a JWT (three base64url parts separated by '.')`);
  return { source, token: async () => token };
}

/**
 * GitHub Actions: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD with the request token as
 * bearer; the answer is {"value": "<jwt>"}. These JWTs live only minutes, so every gateway
 * request (renewals included) gets a fresh one.
 */
function githubActionsOidc(requestUrl: string, requestToken: string, audience: string): Credentials {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw configError("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL");
  }
  url.searchParams.set("audience", audience);
  const source = "GitHub Actions OIDC";
  return {
    source,
    async token() {
      let res: Response;
      try {
        res = await fetch(url, {
          headers: { authorization: `Bearer ${requestToken}`, accept: "application/json" },
          signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        throw new CliError(ExitCode.unavailable, `cannot reach the GitHub Actions OIDC token endpoint: ${networkCause(err)}`, { cause: err });
      }
      if (!res.ok) {
        await res.body?.cancel();
        if (res.status === 429 || res.status >= 500) {
          throw new CliError(ExitCode.unavailable, `the GitHub Actions OIDC token endpoint answered HTTP ${res.status}`);
        }
        throw configError(`GitHub Actions refused an OIDC token (HTTP ${res.status}); does the job have \`permissions: id-token: write\`?`);
      }
      let value: unknown;
      try {
        value = ((await res.json()) as { value?: unknown }).value;
      } catch {
        value = undefined;
      }
      if (typeof value !== "string" || !JWT_SHAPE.test(value)) {
        throw new CliError(ExitCode.internal, "the GitHub Actions OIDC token endpoint answered without a token");
      }
      return value;
    },
  };
}
