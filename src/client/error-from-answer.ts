import { displayText } from "./display-text.ts";
import {
  ForbiddenError,
  InvalidRequestError,
  LeaseNotManagedError,
  LeasegateError,
  LockContendedError,
  LockHeldError,
  LockLostError,
  LockNotFoundError,
  NotFoundError,
  PROBLEM_TYPE_PREFIX,
  UnauthorizedError,
  UnavailableError,
} from "./errors.ts";
import type { GatewayProblemCode } from "./api-types.ts";

type ErrorClass = new (message: string, details: ConstructorParameters<typeof LeasegateError>[1]) => LeasegateError;

/** The class of each problem code the gateway answers that a caller handles on its own. */
const BY_CODE: Partial<Record<GatewayProblemCode, ErrorClass>> = {
  invalid_request: InvalidRequestError,
  payload_too_large: InvalidRequestError,
  unsupported_media_type: InvalidRequestError,
  headers_too_large: InvalidRequestError,
  unauthenticated: UnauthorizedError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  lock_not_found: LockNotFoundError,
  lock_held: LockHeldError,
  lock_lost: LockLostError,
  not_holder: LockLostError,
  lock_contended: LockContendedError,
  lease_not_managed: LeaseNotManagedError,
  backend_unavailable: UnavailableError,
};

/** For answers that are not the gateway's own problem documents (proxies, load balancers). */
const BY_STATUS: Record<number, ErrorClass> = {
  400: InvalidRequestError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  413: InvalidRequestError,
  415: InvalidRequestError,
  429: UnavailableError,
  431: InvalidRequestError,
  // A proxy's 502 means the gateway is not reachable behind it; the gateway's own 502s
  // (backend_forbidden, backend_invalid) are not transient.
  502: UnavailableError,
  503: UnavailableError,
  504: UnavailableError,
};

const HINTS = new Map<ErrorClass, string>([
  [UnauthorizedError, "; the gateway did not accept the token (expired, wrong issuer or audience?)"],
  [ForbiddenError, "; the gateway's policy does not allow this for your identity"],
  [NotFoundError, "; is the URL the gateway's base URL?"],
]);

/**
 * The typed error for a non-2xx answer. Only the gateway's own problem documents (whose `type`
 * is `urn:leasegate:problem:<code>`) are trusted to name a code; anything else is classified by
 * its status alone and gets the code `http_<status>`.
 */
export function errorFromAnswer(status: number, body: unknown, retryAfterMs: number | undefined): LeasegateError {
  const problem = body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const own = typeof problem.code === "string" && problem.type === PROBLEM_TYPE_PREFIX + problem.code;
  const code = own ? (problem.code as string) : `http_${status}`;
  // The gateway's own codes without a class of their own (internal, backend_forbidden,
  // backend_invalid) are failures of the gateway, whatever their status.
  const Class = (own ? BY_CODE[code as GatewayProblemCode] : BY_STATUS[status]) ?? LeasegateError;

  const said = typeof problem.detail === "string" ? problem.detail : typeof problem.title === "string" ? problem.title : undefined;
  let message = `${displayText(code)}${said ? `: ${displayText(said)}` : ""} (HTTP ${status})`;
  if (Class === LockHeldError) message += heldBy(problem);
  if (Class === InvalidRequestError) message += ruleViolations(problem);
  message += HINTS.get(Class) ?? "";
  return new Class(message, { status, code, problem, retryAfterMs });
}

/** `; held by label (subject) until …; 2nd of 3 in line`, escaped; never the ticket. */
function heldBy(problem: Record<string, unknown>): string {
  const held = new LockHeldError("", { problem });
  const who = held.holder && held.subject ? `${held.holder} (${held.subject})` : (held.holder ?? held.subject ?? held.holderIdentity);
  let text = who ? `; held by ${displayText(who)}${held.expiresAt ? ` until ${displayText(held.expiresAt)}` : ""}` : "";
  if (held.position !== undefined) text += `; position ${held.position}${held.waiters !== undefined ? ` of ${held.waiters}` : ""} in line`;
  return text;
}

function ruleViolations(problem: Record<string, unknown>): string {
  const errors = new InvalidRequestError("", { problem }).errors.slice(0, 10);
  const parts = errors.map((e) => `${displayText(e.path ?? "?")} ${displayText(e.message ?? "")}`.trim());
  return parts.length > 0 ? `: ${parts.join("; ")}` : "";
}
