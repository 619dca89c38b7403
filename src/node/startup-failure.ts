import { ConfigError } from "../config/load.ts";

/** Ends a Node process that could not start: one message on stderr, exit code 1. */
export function exitOnStartupFailure(err: unknown): never {
  const message = err instanceof ConfigError ? err.message : `start-up failed: ${err instanceof Error ? err.message : String(err)}`;
  process.stderr.write(`leasegate: ${message}\n`);
  process.exit(1);
}
