import { lockArgument, stringOption } from "./args.ts";
import type { CommandContext } from "./command-context.ts";
import { connect } from "./connection.ts";
import { parseTtlSeconds } from "./duration.ts";
import { failure } from "./failures.ts";
import { inGitHubActions, maskCommand } from "./github-actions.ts";
import { lockTokenArgument } from "./lock-token.ts";
import { assignments, jsonText } from "./output.ts";

/** `leasegate renew <lock>`: extend a grant made by `acquire`. */
export async function renewCommand(ctx: CommandContext): Promise<number> {
  const { values, env, io } = ctx;
  const lock = lockArgument("renew", ctx.positionals);
  const token = lockTokenArgument("renew", values, env);
  // A token passed between steps may not be masked yet; hide it before the gateway's answers.
  if (inGitHubActions(env)) io.stderr.write(maskCommand(token));
  const ttlText = stringOption(values, "ttl");
  const ttlSeconds = ttlText === undefined ? undefined : parseTtlSeconds(ttlText);
  const client = connect(values, env);
  let grant;
  try {
    grant = await client.renew(lock, token, { ttlSeconds });
  } catch (err) {
    throw failure(err, `renew ${lock}`, client.credentials.source);
  }
  // The token is unchanged and already known to the caller: not printed again.
  const { token: _secret, ...visible } = grant;
  io.stdout.write(
    values.json
      ? jsonText(visible)
      : assignments([
          ["LEASEGATE_LOCK", grant.name],
          ["LEASEGATE_FENCING_TOKEN", grant.fencingToken],
          ["LEASEGATE_EXPIRES_AT", grant.expiresAt],
          ["LEASEGATE_TTL_SECONDS", grant.ttlSeconds],
        ]),
  );
  return 0;
}
