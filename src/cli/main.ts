import { type CommandName, parseInvocation } from "./args.ts";
import type { CommandContext } from "./command-context.ts";
import { displayText } from "../client/display-text.ts";
import { CliError } from "./errors.ts";
import { ExitCode } from "./exit-codes.ts";
import { helpText } from "./help.ts";
import type { Io } from "./output.ts";
import { CLI_VERSION } from "./version.ts";

type Handler = (ctx: CommandContext) => Promise<number>;

/** Loaded on demand: Node strips the types of only the modules a subcommand needs. */
const HANDLERS: Record<CommandName, () => Promise<Handler>> = {
  run: async () => (await import("./run-command.ts")).runCommand,
  acquire: async () => (await import("./acquire-command.ts")).acquireCommand,
  renew: async () => (await import("./renew-command.ts")).renewCommand,
  release: async () => (await import("./release-command.ts")).releaseCommand,
  status: async () => (await import("./status-command.ts")).statusCommand,
  list: async () => (await import("./list-command.ts")).listCommand,
};

/**
 * The `leasegate` CLI: parses `argv` (without node and the script), runs the subcommand and
 * returns the exit code. Failures become one `leasegate: …` line on stderr.
 */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env, io: Io = process): Promise<number> {
  let command: CommandName | undefined;
  try {
    const invocation = parseInvocation(argv);
    switch (invocation.kind) {
      case "help":
        io.stdout.write(helpText(invocation.command));
        return ExitCode.ok;
      case "version":
        io.stdout.write(`leasegate ${CLI_VERSION}\n`);
        return ExitCode.ok;
      case "command":
        command = invocation.command;
        return await (await HANDLERS[invocation.command]())({ ...invocation, env, io });
    }
  } catch (err) {
    // Messages can quote the gateway (and arguments): escaped once more, which changes nothing already escaped.
    if (err instanceof CliError) {
      io.stderr.write(`leasegate: ${displayText(err.message)}\n`);
      if (err.showUsage) io.stderr.write(`Run 'leasegate ${command ? `${command} ` : ""}--help' for usage.\n`);
      return err.exitCode;
    }
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    io.stderr.write(`leasegate: unexpected error: ${text.split("\n").map(displayText).join("\n")}\n`);
    return ExitCode.internal;
  }
}
