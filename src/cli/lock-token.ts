import { isLockTokenShaped, LOCK_TOKEN_PREFIX } from "../locks/lock-token-format.ts";
import { stringOption, type OptionValues } from "./args.ts";
import { usageError } from "./errors.ts";

/** The lock token from --lock-token or LEASEGATE_LOCK_TOKEN (printed by `acquire`). */
export function lockTokenArgument(command: string, values: OptionValues, env: Record<string, string | undefined>): string {
  const token = (stringOption(values, "lock-token") ?? env.LEASEGATE_LOCK_TOKEN)?.trim();
  if (!token) throw usageError(`${command}: no lock token: pass --lock-token or set LEASEGATE_LOCK_TOKEN (acquire prints it)`);
  if (!isLockTokenShaped(token)) throw usageError(`${command}: the lock token is not a leasegate lock token (${LOCK_TOKEN_PREFIX}.…)`);
  return token;
}
