import { displayText } from "../client/display-text.ts";
import {
  CredentialsError,
  InvalidRequestError,
  LeasegateError,
  LockContendedError,
  LockHeldError,
  RedirectRefusedError,
} from "../client/errors.ts";
import { isLockLost, isTransient } from "../client/failure-kinds.ts";
import { GatewayUrlError } from "../client/gateway-url.ts";
import { CliError } from "./errors.ts";
import { ExitCode } from "./exit-codes.ts";

/**
 * The one place where the client's typed errors become exit codes. A CliError carries its own;
 * anything unexpected (a bug) is 70.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (!(err instanceof LeasegateError)) return ExitCode.internal;
  if (err instanceof LockHeldError || err instanceof LockContendedError) return ExitCode.notAcquired;
  if (isLockLost(err)) return ExitCode.lockLost;
  if (isTransient(err)) return ExitCode.unavailable;
  if (err instanceof RedirectRefusedError || err instanceof CredentialsError || err instanceof GatewayUrlError || err instanceof InvalidRequestError) return ExitCode.usage;
  // 401, 403, an unknown route, lease_not_managed …: the request cannot succeed as it is.
  if (err.status !== undefined && err.status >= 400 && err.status < 500) return ExitCode.usage;
  // 500, the gateway's own 502s (backend_forbidden, backend_invalid), an answer the CLI cannot use.
  return ExitCode.internal;
}

/**
 * One line, without secrets: `code: detail (HTTP status)` plus a hint where one helps, for what
 * the gateway answered; the error's own message for everything else. What the gateway said is
 * escaped for display.
 */
export function describeFailure(err: unknown, credentialsSource?: string): string {
  if (err instanceof RedirectRefusedError) {
    return `the gateway at ${err.origin} answered with a redirect, which leasegate does not follow: set --url or LEASEGATE_URL to the gateway's own https:// address`;
  }
  if (err instanceof LeasegateError && err.status !== undefined && !(err.code === "invalid_response" && err.status < 300)) {
    let text = `${displayText(err.code)}: ${displayText(err.detail ?? err.title ?? `HTTP ${err.status}`)} (HTTP ${err.status})`;
    if (err instanceof LockHeldError) text += heldBySuffix(err);
    const errors = err.problem.errors;
    if (Array.isArray(errors) && errors.length > 0) {
      text += `: ${errors.map((e: { path?: unknown; message?: unknown }) => `${displayText(e?.path ?? "?")} ${displayText(e?.message ?? "")}`.trim()).join("; ")}`;
    }
    if (err.status === 401) text += `; the gateway did not accept the token from ${credentialsSource ?? "the credentials"} (expired, wrong issuer or audience?)`;
    if (err.status === 403) text += "; the gateway's policy does not allow this for your identity";
    if (err.status === 404 && err.code === "not_found") text += "; is --url the gateway's base URL?";
    return text;
  }
  if (err instanceof Error) return displayText(err.message);
  return displayText(err);
}

function heldBySuffix(refusal: LockHeldError): string {
  const who = describeHolder(refusal.holder, refusal.subject);
  const until = refusal.expiresAt ? ` until ${displayText(refusal.expiresAt)}` : "";
  return who ? `; held by ${who}${until}` : "";
}

/** `label (subject)`, `subject`, or `label`, escaped for display. */
export function describeHolder(holder: unknown, subject: unknown): string {
  const label = typeof holder === "string" && holder ? displayText(holder) : undefined;
  const sub = typeof subject === "string" && subject ? displayText(subject) : undefined;
  if (label && sub) return `${label} (${sub})`;
  return label ?? sub ?? "";
}

/** Wraps any failure of `operation` (e.g. "acquire deploy-prod") as a CliError with its exit code. */
export function failure(err: unknown, operation: string, credentialsSource?: string): CliError {
  if (err instanceof CliError) return err.message.startsWith(operation) ? err : new CliError(err.exitCode, `${operation}: ${err.message}`, { cause: err });
  return new CliError(exitCodeFor(err), `${operation}: ${describeFailure(err, credentialsSource)}`, { cause: err });
}
