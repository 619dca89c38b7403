import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { AuthError, type Caller } from "../auth/caller.ts";
import type { AppDeps } from "../http/app-env.ts";

/** Where a browser request's identity came from. */
export type CredentialSource = "authorization" | "cloudflare-access";

/** A viewer whose credential verified: who it is, and the Authorization value that says so to the JSON API. */
export interface Viewer {
  caller: Caller;
  authorization: string;
  source: CredentialSource;
}

export type ViewerResult = { kind: "anonymous" } | { kind: "refused" } | ({ kind: "viewer" } & Viewer);

/** Set by Cloudflare Access on every request it lets through to the origin. */
const ACCESS_HEADER = "cf-access-jwt-assertion";
/** Access's session cookie: the same JWT, sent by the browser itself. */
const ACCESS_COOKIE = "CF_Authorization";

/**
 * The identity a browser request carries, verified exactly like a bearer token of the JSON API:
 * - `Authorization` (the page's own fetch calls, with a token pasted into the page);
 * - otherwise the Cloudflare Access JWT, from its header or its cookie. It is a JWT like any other:
 *   it counts only when the Access team's issuer is configured, with the application's audience,
 *   like every other issuer. Sent by someone else than Access, it is worth exactly as much as the
 *   same token in `Authorization`.
 */
export function browserAuthorization(c: Context): { authorization: string; source: CredentialSource } | undefined {
  const authorization = c.req.header("authorization");
  if (authorization !== undefined) return { authorization, source: "authorization" };
  const access = c.req.header(ACCESS_HEADER) ?? getCookie(c, ACCESS_COOKIE);
  if (access !== undefined && access !== "") return { authorization: `Bearer ${access}`, source: "cloudflare-access" };
  return undefined;
}

export async function identifyViewer(c: Context, authenticator: AppDeps["authenticator"]): Promise<ViewerResult> {
  const credential = browserAuthorization(c);
  if (!credential) return { kind: "anonymous" };
  try {
    return { kind: "viewer", caller: await authenticator.authenticate(credential.authorization), ...credential };
  } catch (err) {
    if (err instanceof AuthError) return { kind: "refused" };
    throw err;
  }
}
