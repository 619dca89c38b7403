import { GatewayError, UnreachableError } from "./client.ts";
import { displayText } from "./display-text.ts";
import { CliError } from "./errors.ts";
import { ExitCode } from "./exit-codes.ts";

/** Problem codes meaning "this grant is over": renew or release cannot succeed any more. */
const LOST_CODES = new Set(["lock_lost", "not_holder", "lock_not_found"]);

/** Whether a renew or release refusal means the lock is no longer ours. */
export function isLockLost(err: unknown): boolean {
  return err instanceof GatewayError && LOST_CODES.has(err.code);
}

/** Worth retrying shortly: no answer, or the gateway (or its backend) is temporarily unavailable. */
export function isTransient(err: unknown): boolean {
  if (err instanceof UnreachableError) return true;
  if (err instanceof CliError) return err.exitCode === ExitCode.unavailable;
  if (err instanceof GatewayError) {
    if (err.code === "backend_unavailable" || err.code === "lock_contended") return true;
    if (err.status === 429 || err.status === 503 || err.status === 504) return true;
    // A 502 from a proxy in front of the gateway, not the gateway's own backend_* problems.
    return err.status === 502 && !err.fromGateway;
  }
  return false;
}

/** The exit code a failure ends the CLI with. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof UnreachableError) return ExitCode.unavailable;
  if (err instanceof GatewayError) {
    if (err.code === "lock_held" || err.code === "lock_contended") return ExitCode.notAcquired;
    if (LOST_CODES.has(err.code)) return ExitCode.lockLost;
    if (isTransient(err)) return ExitCode.unavailable;
    if (err.code === "lease_not_managed") return ExitCode.usage;
    if (err.status >= 400 && err.status < 500) return ExitCode.usage;
    return ExitCode.internal;
  }
  return ExitCode.internal;
}

/**
 * One line, without secrets: `code: detail (HTTP status)` plus a hint where one helps. What the
 * gateway said is escaped for display.
 */
export function describeFailure(err: unknown, credentialsSource?: string): string {
  if (err instanceof GatewayError) {
    let text = `${displayText(err.code)}: ${displayText(err.detail ?? err.title)} (HTTP ${err.status})`;
    if (err.code === "lock_held") text += heldBySuffix(err.problem);
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

function heldBySuffix(problem: Record<string, unknown>): string {
  const who = describeHolder(problem.holder, problem.subject);
  const until = typeof problem.expiresAt === "string" ? ` until ${displayText(problem.expiresAt)}` : "";
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
