import { lockArgument } from "./args.ts";
import type { CommandContext } from "./command-context.ts";
import { connect } from "./connection.ts";
import { displayText } from "../client/display-text.ts";
import { failure } from "./failures.ts";
import { inGitHubActions, maskCommand } from "./github-actions.ts";
import { lockTokenArgument } from "./lock-token.ts";
import { jsonText } from "./output.ts";

/** `leasegate release <lock>`: end a grant made by `acquire`; repeating it is harmless. */
export async function releaseCommand(ctx: CommandContext): Promise<number> {
  const { values, env, io } = ctx;
  const lock = lockArgument("release", ctx.positionals);
  const token = lockTokenArgument("release", values, env);
  // A token passed between steps may not be masked yet; hide it before the gateway's answers.
  if (inGitHubActions(env)) io.stderr.write(maskCommand(token));
  const client = connect(values, env);
  let released: boolean;
  try {
    ({ released } = await client.release(lock, token));
  } catch (err) {
    throw failure(err, `release ${lock}`, client.credentials.source);
  }
  io.stdout.write(values.json ? jsonText({ released }) : `released=${displayText(released)}\n`);
  if (!released) io.stderr.write(`leasegate: ${lock} was already released or had expired\n`);
  return 0;
}
