import { randomUUID } from "node:crypto";
import { lockArgument, stringOption } from "./args.ts";
import { Child, childExitCode } from "./child.ts";
import type { CommandContext } from "./command-context.ts";
import { connect } from "./connection.ts";
import { displayText } from "../client/display-text.ts";
import { formatDuration, parseDuration, parseTtlSeconds } from "./duration.ts";
import { usageError } from "./errors.ts";
import { ExitCode, signalExitCode } from "./exit-codes.ts";
import { inGitHubActions, maskCommand } from "./github-actions.ts";
import { holderLabel } from "../client/holder-label.ts";
import { defaultHolder } from "./holder.ts";
import { Interrupts } from "./interrupts.ts";
import { releaseQuietly } from "./release.ts";
import { Renewer } from "../client/renewer.ts";
import { describeFailure } from "./failures.ts";
import { formatInstant } from "./instant.ts";
import { acquireWithWait } from "./wait.ts";

export const RUN_DEFAULTS = { ttl: "60s", wait: "15m", grace: "10s" } as const;

/**
 * `leasegate run <lock> -- <command...>`: acquire (waiting), run the command with the lock
 * held and renewed, stop it if the lock is lost, release at the end whatever happened.
 */
export async function runCommand(ctx: CommandContext): Promise<number> {
  const { values, env, io } = ctx;
  const lock = lockArgument("run", ctx.positionals);
  if (ctx.commandLine.length === 0) throw usageError("run: missing the command to run, after --");
  const ttlSeconds = parseTtlSeconds(stringOption(values, "ttl") ?? RUN_DEFAULTS.ttl);
  const waitMs = parseDuration(stringOption(values, "wait") ?? RUN_DEFAULTS.wait, "--wait");
  const graceMs = parseDuration(stringOption(values, "grace") ?? RUN_DEFAULTS.grace, "--grace");
  const holder = holderLabel(stringOption(values, "holder") ?? defaultHolder(env));
  const idempotencyKey = stringOption(values, "idempotency-key") ?? `leasegate-run-${randomUUID()}`;
  const client = connect(values, env);
  const log = (line: string) => void io.stderr.write(`${line}\n`);

  const interrupts = new Interrupts();
  interrupts.install();
  // A second signal before the command runs means "stop now": a grant in flight expires on its own.
  let signalsBeforeCommand = 0;
  const stopHurrying = interrupts.onSignal((signal) => {
    if (++signalsBeforeCommand > 1) {
      log(`leasegate: ${signal} again; exiting without waiting`);
      process.exit(signalExitCode(signal));
    }
  });
  try {
    const acquired = await acquireWithWait({ client, lock, ttlSeconds, holder, idempotencyKey, waitMs, out: io.stderr, operation: `run ${lock}`, cancel: interrupts.signal });
    if (!acquired) {
      log(`leasegate: interrupted by ${interrupts.received} while waiting for ${lock}`);
      return signalExitCode(interrupts.received ?? "SIGTERM");
    }
    const { grant, waitedMs: waited } = acquired;
    // The token is never printed; hidden all the same before anything the gateway sent is.
    if (inGitHubActions(env)) io.stderr.write(maskCommand(grant.token));
    if (interrupts.received) {
      log(`leasegate: interrupted by ${interrupts.received}; not running the command`);
      await releaseQuietly(client, lock, grant.token, log);
      return signalExitCode(interrupts.received);
    }
    stopHurrying();
    log(
      `leasegate: acquired ${lock} as ${displayText(grant.holder ?? holder)} (fencing token ${displayText(grant.fencingToken)}, ttl ${displayText(grant.ttlSeconds)}s, expires ${formatInstant(grant.expiresAt)})` +
        (waited >= 1000 ? ` after waiting ${formatDuration(waited)}` : ""),
    );

    const child = new Child(ctx.commandLine, {
      ...env,
      LEASEGATE_LOCK: lock,
      LEASEGATE_FENCING_TOKEN: grant.fencingToken,
      LEASEGATE_HOLDER: grant.holder ?? holder,
      LEASEGATE_EXPIRES_AT: grant.expiresAt,
    });
    let lostReason: string | undefined;
    const source = client.credentials.source;
    const renewer: Renewer = new Renewer({
      client,
      lock,
      token: grant.token,
      ttlSeconds,
      grant,
      validFrom: acquired.validFrom,
      renewAtOnce: acquired.renewAtOnce,
      onRenewalFailed: (err, failures) => {
        if (failures === 1 || failures % 10 === 0) {
          log(`leasegate: renewing ${lock} failed (${describeFailure(err, source)}); retrying until the grant expires at ${formatInstant(renewer.grant.expiresAt)}`);
        }
      },
      onRecovered: (failures) => log(`leasegate: renewed ${lock} again after ${failures} failed attempt(s)`),
      onLost: (error) => {
        lostReason =
          error.code === "grant_expired"
            ? `no successful renewal before the grant expired (${formatInstant(renewer.grant.expiresAt)})`
            : `renewal refused: ${describeFailure(error, source)}`;
        log(`leasegate: lost ${lock}: ${lostReason}; stopping the command (SIGTERM, SIGKILL after ${formatDuration(graceMs)})`);
        child.terminate(graceMs);
      },
    });
    const stopForwarding = interrupts.onSignal((signal) => child.signal(signal));
    renewer.start();

    const end = await child.ended;
    stopForwarding();
    await renewer.stop();
    if (end.kind === "spawn-failed") log(`leasegate: cannot run ${ctx.commandLine[0]}: ${end.error.code ?? end.error.message}`);
    await releaseQuietly(client, lock, grant.token, log);

    if (lostReason !== undefined) return ExitCode.lockLost;
    const code = childExitCode(end);
    // A cancelled job never reports success, whatever its command did with the signal.
    if (code === 0 && interrupts.received) return signalExitCode(interrupts.received);
    return code;
  } finally {
    interrupts.uninstall();
  }
}
