import { type Credentials, DEFAULT_AUDIENCE, githubActionsOidc, gitlabIdToken, staticToken } from "../client/credentials.ts";
import { CredentialsError } from "../client/errors.ts";
import { configError } from "./errors.ts";

export interface CredentialOptions {
  token?: string;
  audience?: string;
  gitlabIdTokenVar?: string;
}

type Env = Record<string, string | undefined>;

/**
 * Picks the credentials from the command line and the environment, in this order: --token /
 * LEASEGATE_TOKEN; a GitLab id_tokens variable (--gitlab-id-token-var /
 * LEASEGATE_GITLAB_ID_TOKEN_VAR); GitHub Actions' OIDC token endpoint.
 */
export function resolveCredentials(options: CredentialOptions, env: Env): Credentials {
  try {
    return pick(options, env);
  } catch (err) {
    if (err instanceof CredentialsError) throw configError(err.message);
    throw err;
  }
}

function pick(options: CredentialOptions, env: Env): Credentials {
  const explicit = options.token ?? env.LEASEGATE_TOKEN;
  if (explicit !== undefined) return staticToken(explicit, options.token !== undefined ? "--token" : "LEASEGATE_TOKEN");

  const gitlabVar = options.gitlabIdTokenVar ?? env.LEASEGATE_GITLAB_ID_TOKEN_VAR;
  if (gitlabVar !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(gitlabVar)) throw configError(`--gitlab-id-token-var: "${gitlabVar}" is not an environment variable name`);
    return gitlabIdToken({ variable: gitlabVar, value: env[gitlabVar] });
  }

  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) {
    return githubActionsOidc({ requestUrl, requestToken, audience: options.audience ?? env.LEASEGATE_AUDIENCE ?? DEFAULT_AUDIENCE });
  }

  if (env.GITHUB_ACTIONS === "true") {
    throw configError("no credentials: this GitHub Actions job cannot request an OIDC token; add `permissions: id-token: write` to the workflow or job (or pass --token / LEASEGATE_TOKEN)");
  }
  if (env.GITLAB_CI === "true") {
    throw configError("no credentials: declare an ID token under id_tokens: in .gitlab-ci.yml and name its variable with --gitlab-id-token-var or LEASEGATE_GITLAB_ID_TOKEN_VAR (or pass --token / LEASEGATE_TOKEN)");
  }
  throw configError("no credentials: pass --token or set LEASEGATE_TOKEN to a JWT the gateway trusts (in CI: GitHub Actions OIDC or --gitlab-id-token-var)");
}
