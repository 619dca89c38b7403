import { ExitCode } from "./exit-codes.ts";

/**
 * A failure the CLI reports as one line on stderr and an exit code. Messages never contain
 * JWTs or lock tokens.
 */
export class CliError extends Error {
  readonly exitCode: number;
  /** Suggest `--help` for this subcommand after the message. */
  readonly showUsage: boolean;
  constructor(exitCode: number, message: string, options: { showUsage?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "CliError";
    this.exitCode = exitCode;
    this.showUsage = options.showUsage ?? false;
  }
}

export const usageError = (message: string) => new CliError(ExitCode.usage, message, { showUsage: true });
export const configError = (message: string) => new CliError(ExitCode.usage, message);
