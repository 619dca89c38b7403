/** What the clients of a contention run saw, and the checks a correct lock service must pass. */
export interface Grant {
  lock: string;
  /** Unique per acquire attempt, so a 409 naming it identifies the grant. */
  holder: string;
  fencingToken: string;
  token: string;
  /** When the client learnt of the grant (ms on the test's monotonic clock). */
  start: number;
  /** When the client stopped acting on it: released, lost, or its validity ran out. */
  end: number;
  /**
   * Send time of the last acknowledged acquire or renew, plus the TTL; for an acquire retried after
   * an unknown outcome, the first such attempt's send time (the answer may replay a grant made then).
   */
  validUntil: number;
  renewChangedFencing?: boolean;
}

export interface Answer {
  op: string;
  /** 0 when no answer came: a timeout, a refused or a cut connection. */
  status: number;
  code?: string;
  retryAfter?: string | null;
  sentAt: number;
  answeredAt: number;
}

export interface History {
  grants: Grant[];
  releases: Array<{ lock: string; holder: string; answeredAt: number }>;
  heldAnswers: Array<{ lock: string; holder: string; sentAt: number }>;
  responses: Answer[];
}

export interface Report {
  /** Grants the client could act on: answered before they had expired. */
  effectiveGrants: number;
  byStatus: Record<string, number>;
  violations: string[];
}

export function checkHistory(history: History): Report {
  const violations: string[] = [];
  const effective = history.grants.filter((g) => g.start < g.validUntil);

  for (const lock of new Set(effective.map((g) => g.lock))) {
    const grants = effective.filter((g) => g.lock === lock).sort((a, b) => a.start - b.start);
    for (let i = 1; i < grants.length; i++) {
      const previous = grants[i - 1]!;
      const current = grants[i]!;
      if (current.start < previous.end) {
        violations.push(`${lock}: ${current.holder} was granted at ${ms(current.start)} while ${previous.holder} held it until ${ms(previous.end)}`);
      }
      if (BigInt(current.fencingToken) <= BigInt(previous.fencingToken)) {
        violations.push(`${lock}: fencing token ${current.fencingToken} (${current.holder}) is not above ${previous.fencingToken} (${previous.holder})`);
      }
    }
  }
  for (const grant of history.grants) {
    if (!/^\d+$/.test(grant.fencingToken)) violations.push(`${grant.holder}: fencing token ${grant.fencingToken} is not a decimal`);
    if (grant.renewChangedFencing) violations.push(`${grant.holder}: a renewal changed the fencing token`);
  }
  // A lock whose release was acknowledged must never again be reported as held by that grant.
  for (const held of history.heldAnswers) {
    const release = history.releases.find((r) => r.lock === held.lock && r.holder === held.holder);
    if (release && release.answeredAt < held.sentAt) {
      violations.push(`${held.lock}: still held by ${held.holder} at ${ms(held.sentAt)} after its release was acknowledged at ${ms(release.answeredAt)}`);
    }
  }
  const byStatus: Record<string, number> = {};
  for (const answer of history.responses) {
    const key = answer.status === 0 ? "no answer" : String(answer.status);
    byStatus[key] = (byStatus[key] ?? 0) + 1;
    if (answer.status >= 500 && (answer.status !== 503 || answer.code !== "backend_unavailable" || !(Number(answer.retryAfter) > 0))) {
      violations.push(`${answer.op} sent at ${ms(answer.sentAt)} answered ${answer.status} ${answer.code ?? ""} (retry-after ${answer.retryAfter ?? "none"})`);
    }
    if (answer.status >= 400 && answer.status < 500 && answer.status !== 409) {
      violations.push(`${answer.op} sent at ${ms(answer.sentAt)} answered ${answer.status} ${answer.code ?? ""} to a well-formed request`);
    }
  }
  return { effectiveGrants: effective.length, byStatus, violations };
}

const ms = (t: number) => `${(t / 1000).toFixed(3)}s`;
