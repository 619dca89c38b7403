import { stringOption } from "./args.ts";
import type { LockState } from "../client/api-types.ts";
import type { CommandContext } from "./command-context.ts";
import { connect } from "./connection.ts";
import { displayText } from "../client/display-text.ts";
import { usageError } from "./errors.ts";
import { failure } from "./failures.ts";
import { jsonText, table } from "./output.ts";
import { expiresIn } from "./status-command.ts";

const PAGE = 500;

/** `leasegate list [--prefix p]`: every lock the caller may read, all pages. */
export async function listCommand(ctx: CommandContext): Promise<number> {
  const { values, env, io } = ctx;
  if (ctx.positionals.length > 0) throw usageError(`list: unexpected argument "${ctx.positionals[0]}"`);
  const prefix = stringOption(values, "prefix");
  if (prefix !== undefined && !/^[a-z0-9.-]*$/.test(prefix)) throw usageError("list: --prefix may contain only lower-case letters, digits, '-' and '.'");
  const client = connect(values, env);
  const items: LockState[] = [];
  try {
    let continueToken: string | undefined;
    do {
      const page = await client.list({ prefix, limit: PAGE, continueToken });
      items.push(...page.items);
      continueToken = page.continue;
    } while (continueToken);
  } catch (err) {
    throw failure(err, "list", client.credentials.source);
  }
  items.sort((a, b) => a.name.localeCompare(b.name));
  if (values.json) {
    io.stdout.write(jsonText({ items }));
    return 0;
  }
  if (items.length === 0) {
    io.stderr.write(`leasegate: no locks${prefix ? ` starting with "${prefix}"` : ""} that you may read\n`);
    return 0;
  }
  const now = Date.now();
  io.stdout.write(
    table(
      ["NAME", "STATUS", "HOLDER", "SUBJECT", "EXPIRES IN"],
      items.map((s) => [s.name, s.status, s.holder ?? "-", s.subject ?? "-", expiresIn(s, now)].map(displayText)),
    ),
  );
  return 0;
}
