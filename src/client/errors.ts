import { TICKET_PATTERN } from "../locks/queue-ticket.ts";

/**
 * Typed errors: one class per thing a caller handles differently. Every error the client throws
 * is a LeasegateError (or the abort reason of a signal the caller aborted). Messages never contain
 * a JWT, a lock token or a queue ticket, and text the gateway sent appears in them only escaped
 * (see display-text.ts): they are made to be logged.
 */

/** The `type` of the gateway's own problem documents is this prefix and their `code`. */
export const PROBLEM_TYPE_PREFIX = "urn:leasegate:problem:";

export interface ErrorDetails {
  /** The HTTP status of the answer; absent when there was none (or the client refused first). */
  status?: number;
  /** The problem code; defaults to `http_<status>`. */
  code?: string;
  /** Every member of the problem document the gateway answered. */
  problem?: Record<string, unknown>;
  /** How long the gateway asked to wait before trying again (`Retry-After`). */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * Anything the gateway refused, or a failure to get a usable answer from it. `code` is the
 * gateway's problem code (`lock_held`, `forbidden` …), `http_<status>` for an answer that was not
 * the gateway's own problem document (a proxy's error page), or one of the client's own:
 * `unreachable`, `invalid_response`, `redirect`, `credentials`, `grant_expired`, `invalid_request`.
 */
export class LeasegateError extends Error {
  override name = "LeasegateError";
  readonly status?: number;
  readonly code: string;
  readonly problem: Readonly<Record<string, unknown>>;
  readonly retryAfterMs?: number;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.code = details.code ?? (details.status === undefined ? "error" : `http_${details.status}`);
    this.problem = details.problem ?? {};
    this.retryAfterMs = details.retryAfterMs;
  }

  /** The problem's title, as the gateway sent it (raw: escape it before showing it). */
  get title(): string | undefined {
    return text(this.problem.title);
  }

  /** The problem's detail, as the gateway sent it (raw: escape it before showing it). */
  get detail(): string | undefined {
    return text(this.problem.detail);
  }

  /** Whether the answer was the gateway's own problem document (not a proxy's error page). */
  get fromGateway(): boolean {
    return typeof this.problem.code === "string" && this.problem.type === PROBLEM_TYPE_PREFIX + this.problem.code;
  }
}

/**
 * 400 (and 413, 415, 431): the request itself is wrong. `errors` lists the rules it broke as
 * `{path, message}`. Also thrown before any request for arguments the gateway would refuse
 * (a bad lock name, TTL or Idempotency-Key); then `status` is absent.
 */
export class InvalidRequestError extends LeasegateError {
  override name = "InvalidRequestError";

  get errors(): Array<{ path?: unknown; message?: unknown }> {
    const found = this.problem.errors;
    return Array.isArray(found) ? found.filter((e): e is { path?: unknown; message?: unknown } => typeof e === "object" && e !== null) : [];
  }
}

/** 401: the gateway did not accept the JWT (expired, wrong issuer or audience, malformed). */
export class UnauthorizedError extends LeasegateError {
  override name = "UnauthorizedError";
}

/** 403: the gateway's policy does not allow this action on this lock for this identity. */
export class ForbiddenError extends LeasegateError {
  override name = "ForbiddenError";
}

/** 404 `not_found`: no such route (is the URL the gateway's base URL?). */
export class NotFoundError extends LeasegateError {
  override name = "NotFoundError";
}

/** 404 `lock_not_found`: no lock of this name exists (yet). */
export class LockNotFoundError extends LeasegateError {
  override name = "LockNotFoundError";
}

/**
 * 409 `lock_held`: someone else holds the lock, or others wait in line for it, or a wait for it
 * ended without a grant. The holder fields are what the gateway said (raw: escape them before
 * showing them). After a request that waited in line, `position` (1 is next), `waiters` and the
 * secret `ticket` say where this caller stands; a ticket of a shape the gateway does not issue
 * is left out, so that it is never sent back.
 */
export class LockHeldError extends LeasegateError {
  override name = "LockHeldError";

  get holder(): string | undefined {
    return text(this.problem.holder);
  }
  get subject(): string | undefined {
    return text(this.problem.subject);
  }
  get holderIdentity(): string | undefined {
    return text(this.problem.holderIdentity);
  }
  /** When the holder's grant ends unless renewed (ISO 8601, as the gateway sent it). */
  get expiresAt(): string | undefined {
    return text(this.problem.expiresAt);
  }
  get position(): number | undefined {
    return count(this.problem.position, 1);
  }
  get waiters(): number | undefined {
    return count(this.problem.waiters, 0);
  }
  get ticket(): string | undefined {
    const ticket = this.problem.ticket;
    return typeof ticket === "string" && TICKET_PATTERN.test(ticket) ? ticket : undefined;
  }
}

/**
 * The grant is over: a renewal was refused (`lock_lost`), a release was refused because another
 * grant holds the lock (`not_holder`), or — `code` `grant_expired`, no `status` — no renewal
 * succeeded before the grant expired, so it may have been taken by now.
 */
export class LockLostError extends LeasegateError {
  override name = "LockLostError";
}

/** 409 `lock_contended`: the lock changed on every attempt; trying again shortly is fine. */
export class LockContendedError extends LeasegateError {
  override name = "LockContendedError";
}

/** 409 `lease_not_managed`: a Lease of this name exists that leasegate does not manage. */
export class LeaseNotManagedError extends LeasegateError {
  override name = "LeaseNotManagedError";
}

/**
 * The gateway, its Kubernetes backend, or a service the credentials need is unavailable for
 * now (503, 429, 504, a proxy's 502): nothing was granted; try again after `retryAfterMs`.
 */
export class UnavailableError extends LeasegateError {
  override name = "UnavailableError";
}

/** No HTTP answer at all: connection refused, DNS, TLS, timeout. */
export class GatewayUnreachableError extends UnavailableError {
  override name = "GatewayUnreachableError";
}

/** An answer the client cannot use: not a JSON object, or a grant without its fields. */
export class InvalidResponseError extends LeasegateError {
  override name = "InvalidResponseError";
}

/**
 * The gateway's URL answered with a redirect, which the client never follows: a followed
 * redirect would hand the JWT and the lock token to another origin, and make the client act on
 * that origin's answer. The URL is not the gateway's own.
 */
export class RedirectRefusedError extends InvalidResponseError {
  override name = "RedirectRefusedError";
  /** The origin that answered with the redirect (the configured one). */
  readonly origin: string;

  constructor(origin: string, status: number) {
    super(`the gateway at ${origin} answered with a redirect (HTTP ${status}), which leasegate does not follow`, { status, code: "redirect" });
    this.origin = origin;
  }
}

/** The credentials cannot be used: no token, not a JWT, or refused by the CI's token endpoint. */
export class CredentialsError extends LeasegateError {
  override name = "CredentialsError";

  constructor(message: string, details: Omit<ErrorDetails, "code"> = {}) {
    super(message, { ...details, code: "credentials" });
  }
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** A whole number of at least `min`; anything else is unknown. */
function count(value: unknown, min: number): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min ? value : undefined;
}
