import type { CommandName } from "./args.ts";
import { ExitCode } from "./exit-codes.ts";

const CONNECTION = `Gateway and credentials (every subcommand):
  --url URL                    gateway URL, https:// (http:// for loopback only; env LEASEGATE_URL)
  --token JWT                  bearer token (env LEASEGATE_TOKEN)
  --audience AUD               audience of GitHub Actions OIDC tokens (env LEASEGATE_AUDIENCE; default leasegate)
  --gitlab-id-token-var NAME   read the JWT from env var NAME, as GitLab id_tokens: sets it
                               (env LEASEGATE_GITLAB_ID_TOKEN_VAR)
  -h, --help                   this help
Without --token, leasegate uses GitHub Actions' OIDC token (needs permissions: id-token: write),
fetching a fresh one for every request.`;

const EXIT_CODES = `Exit codes: ${ExitCode.notAcquired} not acquired within --wait, ${ExitCode.lockLost} lock lost, ${ExitCode.unavailable} gateway unreachable or unavailable,
  ${ExitCode.usage} usage/configuration/authorization error, ${ExitCode.internal} unexpected error.`;

const TOP = `leasegate: distributed locks for CI pipelines and scripts, through a leasegate gateway.

Usage: leasegate <subcommand> [options]

Subcommands:
  run <lock> -- <command...>   run a command while holding the lock (renewed in the background)
  acquire <lock>               acquire and print the grant (you renew and release it)
  renew <lock>                 extend a grant
  release <lock>               release a grant
  status <lock>                show a lock's state
  list                         list locks

Run 'leasegate <subcommand> --help' for its options.

${CONNECTION}

${EXIT_CODES}
Documentation: docs/cli.md`;

const HELP: Record<CommandName, string> = {
  run: `Usage: leasegate run <lock> [options] -- <command> [args...]

Acquires <lock>, waiting in line for it (first come, first served; the progress line shows the
place in line and the holder), runs the command with the lock held, renews it every ttl/3, and
releases it when the command ends. Leaves the line when --wait runs out or on a signal.
The command gets LEASEGATE_LOCK, LEASEGATE_FENCING_TOKEN, LEASEGATE_HOLDER and
LEASEGATE_EXPIRES_AT. If the lock is lost, the command gets SIGTERM (SIGKILL after --grace) and
leasegate exits ${ExitCode.lockLost}. SIGINT, SIGTERM and SIGHUP are forwarded to it.
Exits with the command's exit code (128+N if it died of signal N).

Options:
  --ttl DURATION               lifetime of the grant between renewals (default 60s)
  --wait DURATION              how long to wait in line for the lock (default 15m; 0 = try once)
  --holder LABEL               label shown to others (default: the CI job, or user@host)
  --grace DURATION             time between SIGTERM and SIGKILL when the lock is lost (default 10s)
  --idempotency-key KEY        a retried acquire with the same key gets the same grant back

${CONNECTION}

${EXIT_CODES}`,
  acquire: `Usage: leasegate acquire <lock> [options]

Acquires <lock> and prints the grant as shell assignments (LEASEGATE_LOCK, LEASEGATE_LOCK_TOKEN,
LEASEGATE_FENCING_TOKEN, LEASEGATE_HOLDER, LEASEGATE_EXPIRES_AT, LEASEGATE_TTL_SECONDS), or as JSON.
The lock token is a secret: renew and release need it. In GitHub Actions it is also written to
the step outputs token, fencing-token, expires-at and holder, and masked in the log.
Nothing renews the grant: renew it before it expires, and release it.

Options:
  --ttl DURATION               lifetime of the grant (default 60s)
  --wait DURATION              how long to wait in line for the lock (default 0: try once)
  --holder LABEL               label shown to others
  --idempotency-key KEY        a retried acquire with the same key gets the same grant back
  --json                       print the grant as JSON

${CONNECTION}

${EXIT_CODES}`,
  renew: `Usage: leasegate renew <lock> [--lock-token TOKEN] [--ttl DURATION] [--json]

Extends a grant; the fencing token stays the same. Exits ${ExitCode.lockLost} if the lock was lost.

Options:
  --lock-token TOKEN           the lock token from acquire (env LEASEGATE_LOCK_TOKEN)
  --ttl DURATION               new lifetime from now (default: the grant's)
  --json                       print the grant as JSON

${CONNECTION}`,
  release: `Usage: leasegate release <lock> [--lock-token TOKEN] [--json]

Releases a grant. Releasing twice is harmless (prints released=false). Exits ${ExitCode.lockLost} if
someone else holds the lock now.

Options:
  --lock-token TOKEN           the lock token from acquire (env LEASEGATE_LOCK_TOKEN)
  --json                       print {"released": true|false}

${CONNECTION}`,
  status: `Usage: leasegate status <lock> [--json]

Shows a lock's state: held, expired or free, the holder, its subject and when it expires.
A lock that was never acquired is shown as free.

Options:
  --json                       print the state as JSON

${CONNECTION}`,
  list: `Usage: leasegate list [--prefix PREFIX] [--json]

Lists the locks you may read: name, status, holder, subject, expires in.

Options:
  --prefix PREFIX              only locks whose name starts with PREFIX
  --json                       print {"items": [...]} as JSON

${CONNECTION}`,
};

export function helpText(command?: CommandName): string {
  return `${command ? HELP[command] : TOP}\n`;
}
