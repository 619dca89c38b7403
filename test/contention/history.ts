/** What the clients of a contention run saw, and the checks a correct lock service must pass. */
export interface Grant {
  lock: string;
  /** Unique per acquire attempt, so a 409 naming it identifies the grant. */
  holder: string;
  fencingToken: string;
  token: string;
  /**
   * Send time of the first request made with this grant's Idempotency-Key: no request of that key,
   * and so no grant to it, can have reached a gateway earlier.
   */
  requestedAt: number;
  /** The lock's `transitions` as the grant's answer gave it: one more for every grant of the lock. */
  transitions?: number;
  /** When the client learnt of the grant (ms on the test's monotonic clock). */
  start: number;
  /** When the client stopped acting on it: released, lost, or its validity ran out. */
  end: number;
  /**
   * Until when the holder may act unless it renews: no later than the send time of the acquire
   * plus the TTL (for an acquire retried after an unknown outcome, of the first such attempt: the
   * answer may replay a grant made then), and no later than the grant's own renewal time plus the
   * TTL; after an acknowledged renewal, its send time plus the TTL.
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

/** One waiting acquire (`waitSeconds`) of a waiter, as its client saw it. */
export interface WaitingRequest {
  sentAt: number;
  answeredAt: number;
  /** The wait the request asked for, in ms: the gateway keeps its place at least that long plus the ticket TTL. */
  waitMs: number;
  /**
   * `granted`: 200. `queued`: 409 `lock_held` with a `position`, so the waiter was in line when the
   * gateway answered. `refused`: 409 `lock_held` without one: it was not in line. `unknown`: no
   * answer, a 5xx or any other answer, after which the place may or may not have been renewed.
   */
  outcome: "granted" | "queued" | "refused" | "unknown";
}

/** A client waiting in a lock's line with one Idempotency-Key (so one place) until granted or it gives up. */
export interface Waiter {
  lock: string;
  /** The holder label of its grant, if it gets one (`Grant.holder`). */
  holder: string;
  requests: WaitingRequest[];
  /** Send time of the request that gave its place up, if it left the line. */
  leftAt?: number;
}

export interface History {
  grants: Grant[];
  releases: Array<{ lock: string; holder: string; answeredAt: number }>;
  heldAnswers: Array<{ lock: string; holder: string; sentAt: number }>;
  responses: Answer[];
  waiters: Waiter[];
}

export interface Rules {
  /** How many may hold each lock at once; 1 unless said otherwise. */
  maxHolders?: (lock: string) => number;
  /** The gateways' `queueTicketTtlSeconds`, in ms: needed to judge whether a waiter kept its place. */
  ticketTtlMs?: number;
}

/** How the first-come-first-served check went: which pairs it could decide, and why it left others out. */
export interface FifoReport {
  /** Pairs (waiter in line, later arrival granted) whose order the history settles. */
  checkedPairs: number;
  /** Pairs left out because the earlier waiter's place may have lapsed (no answer proves it kept it long enough). */
  lapsedPairs: number;
  /** Pairs left out because some grant nobody learnt of could have gone to the earlier waiter. */
  unknownGrantPairs: number;
  /** Waiters that were confirmed in line more than once with no proof of a place kept in between. */
  lapsedPlaces: number;
}

export interface Report {
  /** Grants the client could act on: answered before they had expired. */
  effectiveGrants: number;
  byStatus: Record<string, number>;
  fifo: FifoReport;
  violations: string[];
}

export function checkHistory(history: History, rules: Rules = {}): Report {
  const maxHolders = rules.maxHolders ?? (() => 1);
  const violations: string[] = [];
  const effective = history.grants.filter((g) => g.start < g.validUntil);

  for (const lock of new Set(history.grants.map((g) => g.lock))) {
    const capacity = maxHolders(lock);
    violations.push(...overlaps(effective.filter((g) => g.lock === lock), capacity));
    violations.push(...fencingOrder(history.grants.filter((g) => g.lock === lock), capacity));
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
  const fifo = firstComeFirstServed(history, maxHolders, rules.ticketTtlMs);
  violations.push(...fifo.violations);
  return { effectiveGrants: effective.length, byStatus, fifo: fifo.report, violations };
}

/**
 * No moment at which more than `capacity` effective grants of one lock are in force. The most
 * holders at once are reached at some grant's start, so counting there is enough.
 */
function overlaps(grants: Grant[], capacity: number): string[] {
  const violations: string[] = [];
  for (const grant of [...grants].sort((a, b) => a.start - b.start)) {
    const others = grants.filter((other) => other !== grant && other.start <= grant.start && grant.start < other.end);
    if (others.length >= capacity) {
      const held = others.map((other) => `${other.holder} until ${ms(other.end)}`).join(", ");
      violations.push(`${grant.lock}: ${grant.holder} was granted at ${ms(grant.start)} while ${held} held it (at most ${capacity} at once)`);
    }
  }
  return violations;
}

/**
 * Fencing tokens grow in grant order, for every pair whose order the clients can tell: one grant
 * answered before the other's first request was sent; and, on a lock one caller holds at a time,
 * two grants both answered while valid (the later-answered cannot have been made first: its
 * holder would then have had the lock until after the other's grant).
 */
function fencingOrder(grants: Grant[], capacity: number): string[] {
  const violations: string[] = [];
  const effective = (g: Grant) => g.start < g.validUntil;
  for (const earlier of grants) {
    for (const later of grants) {
      if (earlier === later) continue;
      const ordered = earlier.start < later.requestedAt || (capacity === 1 && effective(earlier) && effective(later) && earlier.start < later.start);
      if (ordered && decimal(later.fencingToken) <= decimal(earlier.fencingToken)) {
        violations.push(`${later.lock}: fencing token ${later.fencingToken} (${later.holder}) is not above ${earlier.fencingToken} (${earlier.holder})`);
      }
    }
  }
  return violations;
}

/**
 * A place the client knows its waiter held without a break: from the answer that first showed it in
 * line until at least `keptUntil`, or until its own grant.
 */
interface KeptPlace {
  /** Answer time of the 409 that showed the waiter in line: its place (and order) existed by then. */
  confirmedAt: number;
  /** Until when the place certainly lived (unless granted first): the last renewal's lower bound. */
  keptUntil: number;
  /** The waiter's grant was answered while this place still lived: it was granted from this place. */
  endsInGrant: boolean;
}

/**
 * The places one waiter certainly kept. A waiting request that ends in a 409 renews the place until
 * at least its send time + its wait + the ticket TTL (the gateway's deadline is at least the wait
 * after it received the request, and the place is renewed to the TTL beyond it; clock differences
 * between replicas are covered by the skew allowance). The next answer that shows the waiter in
 * line, or granted, continues the same place only if it came within that time: whatever the
 * requests in between did (failed, timed out), the place was alive until its renewal. A later
 * confirmation is taken as a new place: it may have joined again at the back.
 */
export function keptPlaces(waiter: Waiter, ticketTtlMs: number): KeptPlace[] {
  const places: KeptPlace[] = [];
  let current: KeptPlace | undefined;
  for (const request of waiter.requests) {
    const renewedUntil = request.sentAt + request.waitMs + ticketTtlMs;
    const continues = current !== undefined && request.answeredAt <= current.keptUntil;
    if (request.outcome === "queued") {
      if (continues) current!.keptUntil = Math.max(current!.keptUntil, renewedUntil);
      else places.push((current = { confirmedAt: request.answeredAt, keptUntil: renewedUntil, endsInGrant: false }));
    } else if (request.outcome === "granted") {
      if (continues) current!.endsInGrant = true;
      current = undefined;
    } else if (request.outcome === "refused") {
      // The gateway did not see it in line: whatever happened, the place ends here.
      if (current) current.keptUntil = Math.min(current.keptUntil, request.sentAt);
      current = undefined;
    }
  }
  if (current && waiter.leftAt !== undefined) current.keptUntil = Math.min(current.keptUntil, waiter.leftAt);
  return places;
}

/**
 * First come, first served, on every lock one caller holds at a time: a waiter A whose place in
 * line was confirmed before a later arrival B sent its first request is ahead of B (B's place, made
 * from a listing read after A's place existed, orders behind it; a caller without a place is
 * refused while anyone waits). So B may not be granted while A still holds that place ungranted.
 *
 * The clients see enough to convict only when all of this is certain:
 * - A's place lived, without a break, from before B's first request until B's grant: until A's own
 *   grant (if that came after B's), or at least until B's grant was answered.
 * - A had not been granted before B: A's known grant (if any) comes after B's by fencing token, and
 *   no grant that nobody learnt of can have been A's. Every grant of a lock raises its
 *   `transitions` by one, so a number that no answer showed, between the grants answered before A
 *   first asked and B's, is a grant that could have been A's (its answer lost, its place then
 *   spent); such pairs are left out.
 */
function firstComeFirstServed(history: History, maxHolders: (lock: string) => number, ticketTtlMs: number | undefined): { report: FifoReport; violations: string[] } {
  const report: FifoReport = { checkedPairs: 0, lapsedPairs: 0, unknownGrantPairs: 0, lapsedPlaces: 0 };
  const violations: string[] = [];
  if (history.waiters.length === 0) return { report, violations };
  if (ticketTtlMs === undefined) throw new Error("checking waiters needs the ticket TTL");

  for (const lock of new Set(history.waiters.map((w) => w.lock))) {
    if (maxHolders(lock) !== 1) continue;
    const grants = history.grants.filter((g) => g.lock === lock);
    const counted = transitionsOf(grants);
    violations.push(...counted.violations);
    if (!counted.known) continue;
    const known = counted.known;

    for (const waiter of history.waiters.filter((w) => w.lock === lock && w.requests.length > 0)) {
      const places = keptPlaces(waiter, ticketTtlMs);
      if (places.length > 1) report.lapsedPlaces++;
      const own = grants.find((g) => g.holder === waiter.holder);
      const firstAsked = waiter.requests[0]!.sentAt;
      // The highest grant number made before this waiter ever asked: anything above may be its own.
      const before = Math.max(-1, ...grants.filter((g) => g.start < firstAsked).map((g) => g.transitions!));

      for (const later of grants) {
        if (later === own) continue;
        const place = places.filter((p) => p.confirmedAt < later.requestedAt).at(-1);
        if (!place) continue;
        const grantedFirst = own !== undefined && decimal(own.fencingToken) < decimal(later.fencingToken);
        const stillInLine = (place.endsInGrant && own !== undefined && !grantedFirst) || place.keptUntil >= later.start;
        if (grantedFirst && (place.endsInGrant || stillInLine)) {
          report.checkedPairs++;
          continue;
        }
        if (!stillInLine) {
          report.lapsedPairs++;
          continue;
        }
        if (!allKnown(known, before, later.transitions!)) {
          report.unknownGrantPairs++;
          continue;
        }
        report.checkedPairs++;
        violations.push(
          `${lock}: ${later.holder} (first asked at ${ms(later.requestedAt)}) was granted fencing token ${later.fencingToken} by ${ms(later.start)} ` +
            `while ${waiter.holder}, in line since ${ms(place.confirmedAt)}, still waited` +
            (own ? ` (granted ${own.fencingToken} at ${ms(own.start)})` : ""),
        );
      }
    }
  }
  return { report, violations };
}

/**
 * The grant numbers the clients learnt of. A lock's grants are numbered by its `transitions`, one
 * apart; two grants with one number would make the numbering useless for telling which grants
 * nobody learnt of, and break the Lease's own promise, so that is a violation and the lock's order
 * is not judged.
 */
function transitionsOf(grants: Grant[]): { known?: Set<number>; violations: string[] } {
  const byNumber = new Map<number, string>();
  const violations: string[] = [];
  for (const grant of grants) {
    if (grant.transitions === undefined) return { violations };
    const other = byNumber.get(grant.transitions);
    if (other !== undefined && other !== grant.fencingToken) {
      violations.push(`${grant.lock}: grants ${other} and ${grant.fencingToken} both say they are transition ${grant.transitions}`);
    }
    byNumber.set(grant.transitions, grant.fencingToken);
  }
  return violations.length > 0 ? { violations } : { known: new Set(byNumber.keys()), violations };
}

/** Every grant number strictly between `after` and `until` was seen. */
function allKnown(known: Set<number>, after: number, until: number): boolean {
  for (let n = after + 1; n < until; n++) if (!known.has(n)) return false;
  return true;
}

const decimal = (token: string) => (/^\d+$/.test(token) ? BigInt(token) : -1n);
const ms = (t: number) => `${(t / 1000).toFixed(3)}s`;
