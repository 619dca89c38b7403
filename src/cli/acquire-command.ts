import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { lockArgument, stringOption } from "./args.ts";
import type { Grant } from "../client/api-types.ts";
import type { CommandContext } from "./command-context.ts";
import { connect } from "./connection.ts";
import { parseDuration, parseTtlSeconds } from "./duration.ts";
import { signalExitCode } from "./exit-codes.ts";
import { inGitHubActions, maskCommand, writeStepOutputs } from "./github-actions.ts";
import { holderLabel } from "../client/holder-label.ts";
import { defaultHolder } from "./holder.ts";
import { Interrupts } from "./interrupts.ts";
import { assignments, jsonText } from "./output.ts";
import { releaseQuietly } from "./release.ts";
import { acquireWithWait } from "./wait.ts";

/** Time for the Actions runner to register a mask (read from stderr) before the token appears on stdout. */
const MASK_SETTLE_MS = 200;

/** `leasegate acquire <lock>`: acquire (optionally waiting) and print the grant. */
export async function acquireCommand(ctx: CommandContext): Promise<number> {
  const { values, env, io } = ctx;
  const lock = lockArgument("acquire", ctx.positionals);
  const ttlSeconds = parseTtlSeconds(stringOption(values, "ttl") ?? "60s");
  const waitMs = parseDuration(stringOption(values, "wait") ?? "0", "--wait");
  const holder = holderLabel(stringOption(values, "holder") ?? defaultHolder(env));
  const idempotencyKey = stringOption(values, "idempotency-key") ?? `leasegate-acquire-${randomUUID()}`;
  const client = connect(values, env);
  const log = (line: string) => void io.stderr.write(`${line}\n`);

  const interrupts = new Interrupts();
  interrupts.install();
  let grant: Grant;
  try {
    const acquired = await acquireWithWait({
      client,
      lock,
      ttlSeconds,
      holder,
      idempotencyKey,
      waitMs,
      out: io.stderr,
      operation: `acquire ${lock}`,
      cancel: interrupts.signal,
    });
    // Hidden before anything else is printed, so that nothing the gateway sent can come first.
    if (acquired && inGitHubActions(env)) io.stderr.write(maskCommand(acquired.grant.token));
    if (!acquired || interrupts.received) {
      if (acquired) await releaseQuietly(client, lock, acquired.grant.token, log);
      log(`leasegate: interrupted by ${interrupts.received} while acquiring ${lock}`);
      return signalExitCode(interrupts.received ?? "SIGTERM");
    }
    grant = acquired.grant;
  } finally {
    interrupts.uninstall();
  }

  if (inGitHubActions(env)) {
    if (env.GITHUB_OUTPUT) {
      writeStepOutputs(env.GITHUB_OUTPUT, {
        token: grant.token,
        "fencing-token": grant.fencingToken,
        "expires-at": grant.expiresAt,
        holder: grant.holder ?? holder,
      });
    }
    await delay(MASK_SETTLE_MS);
  }
  io.stdout.write(values.json ? jsonText(grant) : grantAssignments(grant, holder));
  return 0;
}

/** The grant as shell assignments, LEASEGATE_LOCK_TOKEN being what renew and release read. */
export function grantAssignments(grant: Grant, holder?: string): string {
  return assignments([
    ["LEASEGATE_LOCK", grant.name],
    ["LEASEGATE_LOCK_TOKEN", grant.token],
    ["LEASEGATE_FENCING_TOKEN", grant.fencingToken],
    ["LEASEGATE_HOLDER", grant.holder ?? holder],
    ["LEASEGATE_SUBJECT", grant.subject],
    ["LEASEGATE_EXPIRES_AT", grant.expiresAt],
    ["LEASEGATE_TTL_SECONDS", grant.ttlSeconds],
  ]);
}
