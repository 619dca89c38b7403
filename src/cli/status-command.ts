import { lockArgument } from "./args.ts";
import type { LockState, Waiter } from "../client/api-types.ts";
import { LockNotFoundError } from "../client/errors.ts";
import type { CommandContext } from "./command-context.ts";
import { connect } from "./connection.ts";
import { displayText } from "../client/display-text.ts";
import { formatDuration } from "./duration.ts";
import { failure } from "./failures.ts";
import { jsonText } from "./output.ts";
import { formatInstant } from "./instant.ts";

/**
 * A lock's state as shown: what the gateway answers, where the line and the holders may be
 * missing (a gateway from before them, or a lock never acquired).
 */
export type ShownState = Omit<LockState, "maxHolders" | "holders" | "waiters" | "queue"> & Partial<Pick<LockState, "maxHolders" | "holders" | "waiters" | "queue">>;

/** `leasegate status <lock>`: a lock's state. A lock never acquired is free. */
export async function statusCommand(ctx: CommandContext): Promise<number> {
  const { values, env, io } = ctx;
  const lock = lockArgument("status", ctx.positionals);
  const client = connect(values, env);
  let state: ShownState;
  try {
    state = await client.state(lock);
  } catch (err) {
    if (err instanceof LockNotFoundError) {
      state = { name: lock, namespace: "", status: "free", ttlSeconds: 0, transitions: 0, metadata: {} };
    } else {
      throw failure(err, `status ${lock}`, client.credentials.source);
    }
  }
  io.stdout.write(values.json ? jsonText(state) : describeState(state));
  return 0;
}

export function describeState(state: ShownState, now = Date.now()): string {
  const rows: Array<[string, string | undefined]> = [
    ["lock", state.name],
    ["status", state.status],
    ["holder", state.holder],
    ["subject", state.subject],
    ["fencing token", state.fencingToken],
    ["expires", state.expiresAt && `${formatInstant(state.expiresAt)} (${relativeExpiry(state, now)})`],
    ["acquired", state.acquiredAt && formatInstant(state.acquiredAt)],
    ["renewed", state.renewedAt && formatInstant(state.renewedAt)],
    ["ttl", state.status === "free" || !state.ttlSeconds ? undefined : `${state.ttlSeconds}s`],
    ["transitions", state.namespace ? String(state.transitions) : undefined],
    ["force-released", state.forcedRelease && `by ${state.forcedRelease.by} at ${formatInstant(state.forcedRelease.at)}`],
    ["waiters", typeof state.waiters === "number" && state.waiters > 0 ? String(state.waiters) : undefined],
    // The line as the gateway lists it, first in line first.
    ...(Array.isArray(state.queue) ? state.queue : []).filter((waiter): waiter is Waiter => typeof waiter === "object" && waiter !== null).map((waiter, index): [string, string] => [`in line ${index + 1}`, describeWaiter(waiter)]),
    ...Object.entries(state.metadata ?? {}).map(([k, v]): [string, string] => [`metadata ${displayText(k)}`, v]),
  ];
  // Every value came from the gateway.
  const shown = rows
    .filter((r): r is [string, string] => r[1] !== undefined && r[1] !== "")
    .map(([label, value]): [string, string] => [label, displayText(value)]);
  const width = Math.max(...shown.map(([k]) => k.length)) + 1;
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}${v}\n`).join("");
}

/** `deploy #2 (repo:org/app:environment:production) since 2026-11-24T16:03:11Z`, not yet escaped. */
function describeWaiter(waiter: Waiter): string {
  const who = waiter.holder && waiter.subject ? `${waiter.holder} (${waiter.subject})` : (waiter.holderIdentity ?? waiter.subject ?? "?");
  return waiter.waitingSince ? `${who} since ${formatInstant(waiter.waitingSince)}` : who;
}

/** `42s`, `expired 3s ago`, or `-` for a free lock: the list's EXPIRES IN column. */
export function expiresIn(state: ShownState, now = Date.now()): string {
  if (state.status === "free" || !state.expiresAt) return "-";
  const left = Date.parse(state.expiresAt) - now;
  return left >= 0 ? formatDuration(left) : `expired ${formatDuration(-left)} ago`;
}

function relativeExpiry(state: ShownState, now: number): string {
  const text = expiresIn(state, now);
  return text.startsWith("expired") || text === "-" ? text : `in ${text}`;
}
