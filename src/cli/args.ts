import { parseArgs, type ParseArgsConfig } from "node:util";
import { lockNameProblem } from "../locks/lock-name.ts";
import { usageError } from "./errors.ts";

/** The subcommands, in the order `leasegate --help` lists them. */
export const COMMANDS = ["run", "acquire", "renew", "release", "status", "list"] as const;
export type CommandName = (typeof COMMANDS)[number];

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Options every subcommand accepts: where the gateway is and who the caller is. */
export const GLOBAL_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  audience: { type: "string" },
  "gitlab-id-token-var": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

const ttl = { type: "string" } as const;
const wait = { type: "string" } as const;
const holder = { type: "string" } as const;
const json = { type: "boolean" } as const;
const lockToken = { type: "string" } as const;
const idempotencyKey = { type: "string" } as const;

export const COMMAND_OPTIONS = {
  run: { ttl, wait, holder, grace: { type: "string" }, "idempotency-key": idempotencyKey },
  acquire: { ttl, wait, holder, "idempotency-key": idempotencyKey, json },
  renew: { "lock-token": lockToken, ttl, json },
  release: { "lock-token": lockToken, json },
  status: { json },
  list: { prefix: { type: "string" }, json },
} as const satisfies Record<CommandName, Options>;

export type OptionValues = Record<string, string | boolean | undefined>;

export type Invocation =
  | { kind: "help"; command?: CommandName }
  | { kind: "version" }
  | {
      kind: "command";
      command: CommandName;
      values: OptionValues;
      /** Positionals before `--` (the lock name first). */
      positionals: string[];
      /** `run` only: everything after `--`. */
      commandLine: string[];
    };

export function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

/**
 * Splits argv into subcommand, options and (for `run`) the command line after `--`. Global
 * options may come before or after the subcommand.
 */
export function parseInvocation(argv: string[]): Invocation {
  const dashDash = argv.indexOf("--");
  const before = dashDash === -1 ? argv : argv.slice(0, dashDash);
  const after = dashDash === -1 ? undefined : argv.slice(dashDash + 1);

  let commandIndex = -1;
  let wantsHelp = false;
  for (let i = 0; i < before.length; i++) {
    const arg = before[i]!;
    if (arg === "--help" || arg === "-h") {
      wantsHelp = true;
      continue;
    }
    if (arg === "--version" || arg === "-V") return { kind: "version" };
    if (arg.startsWith("-")) {
      const name = arg.replace(/^--?/, "");
      if (!arg.includes("=") && (GLOBAL_OPTIONS as Options)[name]?.type === "string") i++;
      continue;
    }
    commandIndex = i;
    break;
  }

  if (commandIndex === -1) {
    if (wantsHelp || before.length === 0) return { kind: "help" };
    throw usageError("no subcommand given");
  }
  const name = before[commandIndex]!;
  const rest = [...before.slice(0, commandIndex), ...before.slice(commandIndex + 1)];
  if (name === "help") {
    const topic = rest.find((a) => !a.startsWith("-"));
    if (topic === undefined) return { kind: "help" };
    if (!isCommand(topic)) throw usageError(`unknown subcommand "${topic}"`);
    return { kind: "help", command: topic };
  }
  if (!isCommand(name)) throw usageError(`unknown subcommand "${name}"`);
  if (wantsHelp) return { kind: "help", command: name };

  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[name] },
      allowPositionals: true,
      strict: true,
    }) as { values: OptionValues; positionals: string[] };
  } catch (err) {
    throw usageError(`${name}: ${(err as Error).message.split("\n")[0]!.replace(/\.$/, "")}`);
  }
  if (parsed.values.help) return { kind: "help", command: name };

  let commandLine: string[] = [];
  if (name === "run") {
    if (after !== undefined) {
      if (parsed.positionals.length > 1) throw usageError(`run: unexpected argument "${parsed.positionals[1]}" before "--"`);
      commandLine = after;
    } else {
      commandLine = parsed.positionals.slice(1);
    }
    parsed.positionals = parsed.positionals.slice(0, 1);
  } else if (after !== undefined) {
    throw usageError(`${name}: "--" is only meaningful for run`);
  }
  return { kind: "command", command: name, values: parsed.values, positionals: parsed.positionals, commandLine };
}

/** The string value of an option, if given. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** The `<lock>` positional, checked against the gateway's naming rule before any request. */
export function lockArgument(command: CommandName, positionals: string[]): string {
  const [lock, extra] = positionals;
  if (lock === undefined) throw usageError(`${command}: missing <lock>`);
  if (extra !== undefined) throw usageError(`${command}: unexpected argument "${extra}"`);
  const problem = lockNameProblem(lock);
  if (problem) throw usageError(`${command}: lock name "${lock}" ${problem}`);
  return lock;
}
