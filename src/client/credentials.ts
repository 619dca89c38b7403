import { CredentialsError, InvalidResponseError, UnavailableError } from "./errors.ts";
import { networkCause } from "./network-cause.ts";

/** Where bearer tokens for the gateway come from. */
export interface Credentials {
  /** Names the source in messages (never the token itself). */
  readonly source: string;
  /** A token for the next request; called before every request, renewals included. */
  token(): Promise<string>;
}

/** The audience CI tokens are requested for unless told otherwise. */
export const DEFAULT_AUDIENCE = "leasegate";
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** One fixed JWT, e.g. a service's own token or a secret binding. `source` names it in messages. */
export function staticToken(jwt: string, source = "the static token"): Credentials {
  const token = jwt.trim();
  if (!token) throw new CredentialsError(`no credentials: ${source} is empty`);
  if (!JWT_SHAPE.test(token)) throw new CredentialsError(`${source} does not look like a JWT (three base64url parts separated by '.')`);
  return { source, token: async () => token };
}

/**
 * GitLab CI: the ID token GitLab put into the variable `variable` (declared under `id_tokens:`,
 * with `aud` the gateway's audience), whose value the caller read from its environment. GitLab
 * creates it when the job starts and never refreshes it.
 */
export function gitlabIdToken(options: { variable: string; value: string | undefined }): Credentials {
  if (!options.value?.trim()) {
    throw new CredentialsError(`no credentials: $${options.variable} is empty or unset; declare it under id_tokens: in .gitlab-ci.yml (aud: the gateway's audience)`);
  }
  return staticToken(options.value, `$${options.variable} (GitLab id_tokens)`);
}

export interface GitHubActionsOidcOptions {
  /** `ACTIONS_ID_TOKEN_REQUEST_URL`, set by the runner when the job has `permissions: id-token: write`. */
  requestUrl: string;
  /** `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, likewise. */
  requestToken: string;
  /** The `aud` to request; one of the gateway's audiences for GitHub's issuer (default `leasegate`). */
  audience?: string;
}

/**
 * GitHub Actions: `GET <requestUrl>&audience=<audience>` with the request token as bearer answers
 * `{"value": "<jwt>"}`. These JWTs live only minutes, so every gateway request (renewals
 * included) gets a fresh one, and a lock can be held longer than any single token lives.
 * An unreachable or failing (429, 5xx) token endpoint is an UnavailableError; a refusal is a
 * CredentialsError (does the job have `permissions: id-token: write`?).
 */
export function githubActionsOidc(options: GitHubActionsOidcOptions): Credentials {
  let url: URL;
  try {
    url = new URL(options.requestUrl);
  } catch {
    throw new CredentialsError("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL");
  }
  url.searchParams.set("audience", options.audience ?? DEFAULT_AUDIENCE);
  const requestToken = options.requestToken;
  return {
    source: "GitHub Actions OIDC",
    async token() {
      let res: Response;
      try {
        res = await fetch(url, {
          headers: { authorization: `Bearer ${requestToken}`, accept: "application/json" },
          signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        throw new UnavailableError(`cannot reach the GitHub Actions OIDC token endpoint: ${networkCause(err)}`, { code: "credentials_unavailable", cause: err });
      }
      if (!res.ok) {
        await res.body?.cancel();
        if (res.status === 429 || res.status >= 500) {
          throw new UnavailableError(`the GitHub Actions OIDC token endpoint answered HTTP ${res.status}`, { code: "credentials_unavailable" });
        }
        throw new CredentialsError(`GitHub Actions refused an OIDC token (HTTP ${res.status}); does the job have \`permissions: id-token: write\`?`);
      }
      let value: unknown;
      try {
        value = ((await res.json()) as { value?: unknown }).value;
      } catch {
        value = undefined;
      }
      if (typeof value !== "string" || !JWT_SHAPE.test(value)) {
        throw new InvalidResponseError("the GitHub Actions OIDC token endpoint answered without a token", { code: "invalid_response" });
      }
      return value;
    },
  };
}
