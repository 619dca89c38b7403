import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AuthError } from "../auth/caller.ts";
import { LockError, type LockFailure } from "../locks/lock-errors.ts";
import { problem, type ProblemCode } from "./problem.ts";

export type Logger = (entry: Record<string, unknown>) => void;

const LOCK_PROBLEMS: Record<LockFailure, ProblemCode> = {
  held: "lock_held",
  lost: "lock_lost",
  not_holder: "not_holder",
  invalid_token: "not_holder",
  not_found: "lock_not_found",
  not_managed: "lease_not_managed",
  contention: "lock_contended",
  invalid_cursor: "invalid_request",
  backend_unavailable: "backend_unavailable",
  backend_forbidden: "backend_forbidden",
  backend_invalid: "backend_invalid",
};

/** The one place where failures become responses. */
export function errorResponse(err: unknown, c: Context, log: Logger): Response {
  if (err instanceof LockError) {
    const code = LOCK_PROBLEMS[err.reason];
    if (code.startsWith("backend_")) log({ level: "error", msg: "kubernetes backend failure", reason: err.reason, detail: err.message, cause: causeText(err.cause) });
    const held = err.heldBy;
    return problem(c, code, {
      detail: err.message,
      retryAfterSeconds: err.retryAfterSeconds,
      ...(held && {
        holder: held.holder,
        subject: held.subject,
        holderIdentity: held.holderIdentity,
        expiresAt: held.expiresAt?.toISOString(),
      }),
      // Where the caller stands in line; `ticket` (a waiter's own, secret) keeps its place.
      ...(err.queue && { waiters: err.queue.waiters, position: err.queue.position, ticket: err.queue.ticket }),
      ...(err.reason === "invalid_cursor" && { errors: [{ path: "query.continue", message: err.message }] }),
    });
  }
  if (err instanceof AuthError) {
    log({ level: "info", msg: "request refused", reason: err.reason, detail: err.internal });
    return problem(c, err.reason);
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    const code: ProblemCode =
      status === 413 ? "payload_too_large" : status === 415 ? "unsupported_media_type" : status === 404 ? "not_found" : "invalid_request";
    return problem(c, code, { detail: err.message || undefined });
  }
  log({ level: "error", msg: "unhandled error", error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  return problem(c, "internal");
}

function causeText(cause: unknown): string | undefined {
  if (!cause) return undefined;
  const detail = (cause as { detail?: string }).detail;
  return detail ?? (cause instanceof Error ? cause.message.slice(0, 300) : undefined);
}
