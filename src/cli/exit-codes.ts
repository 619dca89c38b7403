import { constants } from "node:os";

/**
 * The exit codes of the `leasegate` CLI. `run` otherwise exits with its command's own code
 * (128 + N when the command died of signal N). Every reserved code is accompanied by a
 * `leasegate: …` line on stderr, which tells it apart from a command that happens to exit with
 * the same number. docs/cli.md carries the same table.
 */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** An unexpected error: a gateway answer the CLI cannot use (500, 502 backend_*), or a bug. */
  internal: 70,
  /** The lock was held by someone else for the whole of --wait (also lock_contended to the end). */
  notAcquired: 71,
  /** The lock was lost: taken over, force-released, or not renewed before it expired. */
  lockLost: 72,
  /** The gateway (or the CI's token endpoint) was unreachable, timed out, or answered 503. */
  unavailable: 73,
  /** Usage, configuration or authorization error: bad arguments, no URL, a redirect, no or refused credentials. */
  usage: 74,
} as const;

/** 128 + the signal's number, as shells report a process that died of that signal. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}
