import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { requestPath } from "./request-path.ts";

/** Every error this API returns, with its stable `type` and HTTP status. */
export const PROBLEMS = {
  invalid_request: { status: 400, title: "The request is invalid" },
  unauthenticated: { status: 401, title: "Authentication required" },
  forbidden: { status: 403, title: "Not allowed" },
  not_found: { status: 404, title: "No such route" },
  lock_not_found: { status: 404, title: "No such lock" },
  lock_held: { status: 409, title: "The lock is held by another caller" },
  lock_lost: { status: 409, title: "The lock is no longer held under this token" },
  not_holder: { status: 409, title: "This token does not hold the lock" },
  lock_contended: { status: 409, title: "The lock changed on every attempt" },
  lease_not_managed: { status: 409, title: "A Lease of this name exists but is not managed by leasegate" },
  payload_too_large: { status: 413, title: "The request body is too large" },
  headers_too_large: { status: 431, title: "The request headers are too large" },
  unsupported_media_type: { status: 415, title: "The request body must be application/json" },
  internal: { status: 500, title: "Internal error" },
  backend_forbidden: { status: 502, title: "The gateway lacks a Kubernetes permission" },
  backend_invalid: { status: 502, title: "The Kubernetes API answered something unusable" },
  backend_unavailable: { status: 503, title: "The Kubernetes API is unavailable" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export function problemType(code: ProblemCode): string {
  return `urn:leasegate:problem:${code}`;
}

export interface ProblemExtras {
  detail?: string;
  retryAfterSeconds?: number;
  [member: string]: unknown;
}

/** An RFC 9457 problem document: status, headers and JSON body. */
export function problemParts(code: ProblemCode, extras: ProblemExtras = {}, instance?: string) {
  const { status, title } = PROBLEMS[code];
  const { retryAfterSeconds, ...members } = extras;
  const headers: Record<string, string> = { "content-type": "application/problem+json", "cache-control": "no-store" };
  if (retryAfterSeconds !== undefined) headers["retry-after"] = String(retryAfterSeconds);
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="leasegate"';
  const body = JSON.stringify({ type: problemType(code), code, title, status, ...members, ...(instance !== undefined && { instance }) });
  return { status, headers, body };
}

/** An RFC 9457 problem document response. */
export function problem(c: Context, code: ProblemCode, extras: ProblemExtras = {}): Response {
  const { status, headers, body } = problemParts(code, extras, requestPath(c.req.url));
  return new Response(body, { status, headers });
}
