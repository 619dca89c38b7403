import type { OptionValues } from "./args.ts";
import type { Io } from "./output.ts";

/** What a subcommand gets: its parsed arguments, the environment and where to write. */
export interface CommandContext {
  values: OptionValues;
  positionals: string[];
  /** `run`: the command line after `--`. */
  commandLine: string[];
  env: Record<string, string | undefined>;
  io: Io;
}
