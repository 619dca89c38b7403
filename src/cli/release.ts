import type { LeasegateClient } from "../client/leasegate-client.ts";
import { releaseGrant, type ReleaseOutcome } from "../client/release-grant.ts";
import { describeFailure } from "./failures.ts";

/**
 * Best-effort release at the end of `run` (and of an interrupted `acquire`): reports the outcome
 * on stderr; never throws. Whether it was released.
 */
export async function releaseQuietly(client: LeasegateClient, lock: string, token: string, log: (line: string) => void): Promise<boolean> {
  const outcome = await releaseGrant(client, lock, token);
  log(describeRelease(outcome, lock, client.credentials.source));
  return outcome.kind === "released";
}

/** The stderr line for how a release went. */
export function describeRelease(outcome: ReleaseOutcome, lock: string, credentialsSource: string): string {
  switch (outcome.kind) {
    case "released":
      return `leasegate: released ${lock}`;
    case "already-over":
      return `leasegate: ${lock} was already released or expired`;
    case "lost":
      return `leasegate: ${lock} is no longer ours to release (${describeFailure(outcome.error, credentialsSource)})`;
    case "failed":
      return `leasegate: could not release ${lock} (${describeFailure(outcome.error, credentialsSource)}); it expires on its own at the end of its TTL`;
  }
}
