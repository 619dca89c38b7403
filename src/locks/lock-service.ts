import type { Clock } from "./clock.ts";
import { LockError, type HeldBy } from "./lock-errors.ts";
import type { LockEvent, LockEventSink } from "./lock-events.ts";
import { holderIdentityOf } from "./holder-identity.ts";
import type { ListCursors } from "./list-cursor.ts";
import { grantedTicketOf, type QueueView, queueView } from "./lock-queue.ts";
import { DECIMAL_REVISION, expiresAt, type Hold, type LockRecord, type Versioned } from "./lock-record.ts";
import { type GrantClaim, isStoreError, type LockStore, StoreError } from "./lock-store.ts";
import { holdExpiresAt, isSemaphoreCover, leaseHolderHold, liveHolds, withHolds } from "./semaphore.ts";
import { randomTicket, ticketExpiresAt, ticketFromSecret, ticketId, type TicketList, type VersionedTicket } from "./queue-ticket.ts";
import { type OpenedToken, randomSecret, type TokenKeys } from "./lock-token.ts";

export interface LockServiceOptions {
  store: LockStore;
  clock: Clock;
  tokens: TokenKeys;
  /** Seals list continuations, which name locks, so that only the listing they came from can resume. */
  cursors: ListCursors;
  /** Scopes lock tokens: a token issued for a lock in one namespace is useless in another. */
  namespace: string;
  /** Extra time a grant stays valid for takeover, to absorb clock differences between gateways. */
  skewAllowanceSeconds: number;
  /**
   * How long a waiter keeps its place in a lock's queue after its waiting request ended: it must
   * ask again within this time, or it drops out of line.
   */
  ticketTtlSeconds: number;
  /** How many callers may hold each lock at once (a semaphore when above 1); 1 for every lock without it. */
  maxHolders?: (name: string) => number;
  /** Told when a wait cannot watch (and reads every WATCH_FALLBACK_POLL_MS instead), so an operator can fix it. */
  onWatchFailure?: (err: unknown) => void;
  /** Told of every grant, release, takeover, force release, loss and queue change, after the write. */
  events?: LockEventSink;
  /** Read-decide-write rounds before giving up under write contention. */
  maxAttempts?: number;
}

export interface AcquireRequest {
  name: string;
  subject: string;
  /** Scopes idempotency keys: the same `sub` from two issuers is two callers. */
  issuer?: string;
  label?: string;
  ttlSeconds: number;
  metadata: Record<string, string>;
  idempotencyKey?: string;
  /** How long to wait for a held lock, in milliseconds; without it, a held lock is refused at once. */
  waitMs?: number;
  /** Ends a wait early (the caller went away). */
  signal?: AbortSignal;
  /**
   * The place in line a previous waiting request was given (its `ticket`). Without it, a waiter
   * with an `idempotencyKey` keeps the place that key names, and any other waiter gets a new one.
   */
  ticket?: string;
}

/** Who is in a lock's line, as `state` shows it. */
export interface Waiter {
  position: number;
  holderIdentity: string;
  holder?: string;
  subject: string;
  issuer?: string;
  waitingSince: Date;
  /** When this waiter drops out of line unless it asks again. */
  expiresAt: Date;
}

/** The caller's own place in line during one waiting request. */
interface Place {
  ticket: string;
  id: string;
  /** Its ticket exists and lives at least as long as this request waits. */
  joined: boolean;
  /** Its ticket is new (or joined again) and the lock does not say so yet. */
  unmarked: boolean;
  /**
   * An earlier request of the same series (the same Idempotency-Key or ticket) may have made its
   * ticket: a request that made the ticket but failed before its mark landed leaves the lock
   * unmarked, and the series' next request may then take the lock without reading the line.
   */
  mayHaveTicket: boolean;
}

/** Why a decision did not grant: the lock as read, the line, and what to watch for a change. */
interface Blocked {
  lock: Versioned;
  /** Absent when the lock is held and the caller does not wait (the line was not read). */
  queue?: QueueView;
  /** What may change first and let the caller in, and until when its state stands at most. */
  watch: { kind: "lock"; resourceVersion: string } | { kind: "ticket"; entry: VersionedTicket };
  /** When the state read stops being true by itself (a holder's or a ticket's time runs out). */
  until: number;
}

/** Joins that lose the race to mark the lock are retried this often before the caller hears `contention`. */
const MAX_JOIN_RACES = 256;

/** At most this many leftover tickets are deleted after one grant, to bound its cost. */
const MAX_SWEEP = 8;

/** While a wait cannot watch the lock (the backend refuses watches), it reads again this often. */
const WATCH_FALLBACK_POLL_MS = 1000;
/**
 * A round of a wait (read, then watch) that finds the lock unchanged (its watch ended without a
 * write: a proxy that closes it, an apiserver that no longer keeps that revision) waits this long
 * before watching again, doubling each time up to MAX_UNCHANGED_BACKOFF_MS, so waiting never
 * becomes a tight loop. A change (a release) still wakes a waiter at once.
 */
const MIN_WAIT_ROUND_MS = 250;
const MAX_UNCHANGED_BACKOFF_MS = 5000;

export interface Grant {
  name: string;
  holder?: string;
  holderIdentity: string;
  subject: string;
  token: string;
  fencingToken: string;
  acquiredAt: Date;
  renewedAt: Date;
  expiresAt: Date;
  ttlSeconds: number;
  transitions: number;
  metadata: Record<string, string>;
  /** True when an idempotent retry returned an existing grant instead of writing. */
  replayed: boolean;
}

export type LockStatus = "held" | "expired" | "free";

export interface LockState {
  name: string;
  status: LockStatus;
  /** The Lease's holder as every Lease client reads it: a grant of this service or another client. */
  holderIdentity?: string;
  /** The rest describe a grant of this service; another Lease client's hold has none of them. */
  holder?: string;
  subject?: string;
  issuer?: string;
  fencingToken?: string;
  acquiredAt?: Date;
  renewedAt?: Date;
  expiresAt?: Date;
  ttlSeconds: number;
  transitions: number;
  metadata: Record<string, string>;
  forcedRelease?: { by: string; issuer?: string; at: Date };
  /** How many may hold the lock at once. */
  maxHolders: number;
  /** The live grants of this service that hold it, the one in the Lease's own fields included. */
  holders: Holder[];
  /** The line, first in line first; only the live tickets. */
  queue: Waiter[];
}

export interface Holder {
  holderIdentity: string;
  holder?: string;
  subject: string;
  issuer?: string;
  fencingToken: string;
  acquiredAt: Date;
  renewedAt: Date;
  expiresAt: Date;
  metadata: Record<string, string>;
}

/** Who force-releases a lock: recorded on it. */
export interface Actor {
  subject: string;
  issuer?: string;
}

/**
 * The lock algorithm: every decision is made on a record read at a known revision, and every
 * write is conditional, so concurrent gateways can never both grant the same lock.
 */
export class LockService {
  readonly #store: LockStore;
  readonly #clock: Clock;
  readonly #tokens: TokenKeys;
  readonly #cursors: ListCursors;
  readonly #namespace: string;
  readonly #skewMs: number;
  readonly #maxAttempts: number;
  readonly #ticketTtlSeconds: number;
  readonly #maxHolders: (name: string) => number;
  readonly #onWatchFailure: (err: unknown) => void;
  readonly #events: LockEventSink;

  constructor(options: LockServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#tokens = options.tokens;
    this.#cursors = options.cursors;
    this.#namespace = options.namespace;
    this.#skewMs = options.skewAllowanceSeconds * 1000;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#ticketTtlSeconds = options.ticketTtlSeconds;
    this.#maxHolders = options.maxHolders ?? (() => 1);
    this.#onWatchFailure = options.onWatchFailure ?? (() => {});
    this.#events = options.events ?? (() => {});
  }

  /**
   * Grants the lock, or refuses it while someone holds it or others wait in line for it. With
   * `waitMs`, the caller takes a place in the lock's queue and waits: the first in line watches
   * the lock and decides again the moment it changes (a release) or its holder's time runs out;
   * everyone behind watches only the ticket just ahead of it, so a hand-over wakes one waiter, not
   * all of them. Waiters are granted in arrival order, across gateway replicas.
   */
  async acquire(req: AcquireRequest): Promise<Grant> {
    const secret = req.idempotencyKey
      ? await this.#tokens.idempotentSecret(this.#lockKey(req.name), callerKey(req), req.idempotencyKey)
      : randomSecret();
    const applicant = { secret, verifier: await this.#tokens.verifierOf(secret), holderIdentity: holderIdentityOf(req.subject, req.label) };
    const waitMs = req.waitMs ?? 0;
    const deadline = this.#clock.now().getTime() + waitMs;
    const place = waitMs > 0 ? await this.#placeOf(req) : undefined;
    let unchanged = { resourceVersion: "", rounds: 0 };
    for (;;) {
      const outcome = await this.#tryAcquire(req, applicant, place, deadline);
      if ("granted" in outcome) return outcome.granted;
      const blocked = outcome.blocked;
      const watched = blocked.watch.kind === "lock" ? blocked.watch.resourceVersion : `${blocked.watch.entry.ticket.id}@${blocked.watch.entry.resourceVersion}`;
      unchanged = { resourceVersion: watched, rounds: watched === unchanged.resourceVersion ? unchanged.rounds + 1 : 0 };
      // Checked after every await: a caller that hung up must never be granted a lock nobody receives.
      const stillWaiting = async () => {
        const now = this.#clock.now();
        if (now.getTime() >= deadline || req.signal?.aborted) throw await this.#endWait(req, blocked, place, now);
        return deadline - now.getTime();
      };
      let remaining = await stillWaiting();
      if (unchanged.rounds > 0) {
        const backoff = Math.min(MIN_WAIT_ROUND_MS * 2 ** (unchanged.rounds - 1), MAX_UNCHANGED_BACKOFF_MS);
        await this.#clock.sleep(Math.min(backoff, remaining), req.signal);
        remaining = await stillWaiting();
      }
      const stateLeft = blocked.until - this.#clock.now().getTime() + 1;
      await this.#waitForChange(req.name, blocked.watch, Math.min(remaining, stateLeft), req.signal);
      // A wait that ran out decides once more (the lock may have come free at the last moment).
      if (req.signal?.aborted) throw await this.#endWait(req, blocked, place, this.#clock.now());
    }
  }

  /** Leaves the lock's line: the place the ticket (or the Idempotency-Key) names is given up. */
  async leave(req: { name: string; subject: string; issuer?: string; ticket?: string; idempotencyKey?: string }): Promise<{ left: boolean }> {
    const place = await this.#placeOf(req);
    try {
      await this.#store.deleteTicket(req.name, place.id);
      this.#emit({ kind: "queue_left", lock: req.name, at: this.#clock.now(), subject: req.subject, issuer: req.issuer });
      return { left: true };
    } catch (err) {
      if (isStoreError(err, "not_found")) return { left: false };
      throw translate(err);
    }
  }

  /**
   * One decision: the grant, or what blocks it. A lock whose line is empty (no queue mark) is
   * decided on the lock alone, as a lock without waiters always was; otherwise the line is read
   * and only the first in line may take the lock when it is free.
   */
  async #tryAcquire(
    req: AcquireRequest,
    applicant: { secret: string; verifier: string; holderIdentity: string },
    place: Place | undefined,
    deadline: number,
  ): Promise<{ granted: Grant } | { blocked: Blocked }> {
    const { secret, verifier } = applicant;
    // Joins that lost a race to mark the lock (many waiters arriving at once) are not lost rounds:
    // each round some join lands, so they are bounded by the line's length, not by maxAttempts.
    let joinRaces = 0;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      // 1. Read the lock and the revision every decision below is based on. A lock that never
      //    existed is first created free: its revision is then a floor above every revision of
      //    any earlier Lease of this name, which the fencing token must exceed.
      let current = (await this.#read(req.name)) ?? (await this.#createFree(req.name, req.ttlSeconds));
      if (!current) continue;
      const now = this.#clock.now();
      const capacity = this.#maxHolders(req.name);
      const held = this.#holders(current.record, now);

      // 2. Live holds are kept, whoever holds them (any Lease client), unless one is this very
      //    acquisition being retried.
      const mine = held.holds.find((hold) => hold.grant.verifier === verifier);
      if (mine) {
        await this.#sweep(req.name, [], ownTicketOf(place));
        return { granted: await this.#grant(req.name, mine, current.record.transitions, secret, true) };
      }
      const free = capacity - held.count;
      if (free <= 0 && !place) return { blocked: { lock: current, watch: { kind: "lock", resourceVersion: current.resourceVersion }, until: this.#holdEnd(current.record) } };

      // 3. The line, when there is one, or when the caller cannot have the lock now and joins it.
      //    A free lock nobody waits for is granted at once, to a waiter as to anyone.
      let queue: QueueView | undefined;
      let tickets: TicketList | undefined;
      if (current.record.queueMark !== undefined || (place && free <= 0)) {
        tickets = await this.#listTickets(req.name);
        queue = queueView(tickets, current.record, now, this.#skewMs, place?.id);
        if (place && (!place.joined || place.unmarked)) {
          const marked = await this.#join(req, place, current, tickets, queue, now, deadline);
          if (marked === "retry") {
            if (joinRaces++ < MAX_JOIN_RACES) attempt--;
            continue;
          }
          // The mark was written at the revision read, so the lock is now exactly that plus the mark.
          current = marked;
          queue = queueView(tickets, current.record, now, this.#skewMs, place.id);
        }
      }

      // 4. Who may take the lock: nobody while all its places are held; when some are free, the
      //    first that many in line.
      const ahead = queue ? (place ? queue.ownIndex : queue.waiting.length) : 0;
      if (free <= 0 || ahead >= free) return { blocked: this.#blocked(current, queue!, ahead, capacity) };

      // 5. Build the new grant on top of what was read. Its fencing token is fixed now and written
      //    by the granting write itself: one more than the revision that write replaces, so above
      //    every earlier grant's and never later rewritten.
      const own = place && queue ? queue.waiting[queue.ownIndex] : undefined;
      const othersKnown = (tickets?.tickets ?? []).some((entry) => entry.ticket.id !== place?.id);
      const hold: Hold = {
        holderIdentity: applicant.holderIdentity,
        grant: {
          subject: req.subject,
          issuer: req.issuer,
          label: req.label,
          verifier,
          fencingToken: nextFencingToken(current.resourceVersion),
          metadata: req.metadata,
        },
        ttlSeconds: req.ttlSeconds,
        acquiredAt: now,
        renewedAt: now,
      };
      const base: LockRecord = {
        ...current.record,
        transitions: current.record.acquiredAt || current.record.holds ? current.record.transitions + 1 : current.record.transitions,
        // The mark goes only with the last ticket: a join after this read changes the lock's
        // revision, and then this write is refused and decided again.
        queueMark: othersKnown ? current.record.queueMark : undefined,
        grantedTicket: own ? grantedTicketOf(own.ticket) : current.record.grantedTicket,
      };
      // A single-holder lock is granted in the Lease's own holder fields, as every Lease client
      // reads them; a semaphore adds a hold beside the live ones (dropping those that ran out).
      const record: LockRecord =
        capacity === 1 && held.semaphoreHolds.length === 0
          ? { ...base, holderIdentity: hold.holderIdentity, grant: hold.grant, ttlSeconds: hold.ttlSeconds, acquiredAt: now, renewedAt: now, holds: undefined }
          : withHolds(base, [...held.semaphoreHolds, hold], now, !held.leaseHolderLive);

      // 6. Write conditionally; losing a race means reading again and deciding again.
      try {
        await this.#store.replace(req.name, record, current.resourceVersion);
        this.#granted(req.name, hold, current.record, own?.ticket.joinedAt, now);
        await this.#sweep(req.name, queue?.stale ?? [], ownTicketOf(place));
        return { granted: await this.#grant(req.name, hold, record.transitions, secret, false) };
      } catch (err) {
        // A lock deleted since it was read is decided again from scratch (created free first).
        if (isStoreError(err, "conflict") || isStoreError(err, "not_found")) continue;
        if (isStoreError(err, "unknown_outcome")) {
          // 7. The write may have landed: only the stored grant can tell.
          const landed = await this.#read(req.name);
          const found = landed && findGrant(landed.record, claimOf(hold));
          if (found) {
            this.#granted(req.name, found, current.record, own?.ticket.joinedAt, now);
            await this.#sweep(req.name, queue?.stale ?? [], ownTicketOf(place));
            return { granted: await this.#grant(req.name, found, landed.record.transitions, secret, false) };
          }
          continue;
        }
        throw translate(err);
      }
    }
    throw new LockError("contention", "the lock changed on every attempt; retry shortly", { retryAfterSeconds: 1 });
  }

  /**
   * Makes sure the caller has a live place in line for as long as this request waits, plus the
   * ticket TTL. A new (or lapsed) place is at the back, and the lock is then marked so that no
   * decision made on a line read before it can be written. Adds the ticket to `tickets` and
   * returns the lock as it is now, or "retry" when the lock or the ticket changed meanwhile.
   */
  async #join(req: AcquireRequest, place: Place, current: Versioned, tickets: TicketList, queue: QueueView, now: Date, deadline: number): Promise<Versioned | "retry"> {
    const ttlSeconds = Math.ceil(Math.max(0, deadline - now.getTime()) / 1000) + this.#ticketTtlSeconds;
    const order = nextFencingToken(tickets.revision);
    const existing = tickets.tickets.find((entry) => entry.ticket.id === place.id);
    try {
      if (place.joined) {
        // Made earlier in this request; only the mark is missing.
      } else if (existing) {
        const rejoin = queue.ownIndex >= 0 ? undefined : { order, joinedAt: now };
        const resourceVersion = await this.#store.renewTicket(req.name, place.id, { renewedAt: now, ttlSeconds, rejoin });
        const renewed = { ...existing.ticket, renewedAt: now, ttlSeconds, ...rejoin };
        tickets.tickets = tickets.tickets.map((entry) => (entry === existing ? { ticket: renewed, resourceVersion } : entry));
        place.joined = true;
        // Back in line, or its mark never landed (the request that made it failed) and a grant has
        // cleared the lock's mark since: the lock must say again that someone waits.
        place.unmarked = rejoin !== undefined || current.record.queueMark === undefined;
      } else {
        const ticket = {
          lock: req.name,
          id: place.id,
          holderIdentity: holderIdentityOf(req.subject, req.label),
          subject: req.subject,
          issuer: req.issuer,
          label: req.label,
          order,
          joinedAt: now,
          renewedAt: now,
          ttlSeconds,
        };
        const resourceVersion = await this.#store.createTicket(ticket);
        tickets.tickets.push({ ticket, resourceVersion });
        this.#emit({ kind: "queue_joined", lock: req.name, at: now, ...whoWaits(ticket), position: queueView(tickets, current.record, now, this.#skewMs, place.id).ownIndex + 1 });
        place.joined = true;
        place.unmarked = true;
      }
    } catch (err) {
      // Deleted or created under our feet (a sweep, a parallel request with the same place): decide again.
      if (isStoreError(err, "not_found") || isStoreError(err, "already_exists")) return "retry";
      throw translate(err);
    }
    if (!place.unmarked) return current;
    // Unique per join, so that the write always changes the lock's revision.
    const record = { ...current.record, queueMark: `${order}-${place.id}` };
    try {
      const marked = { record, resourceVersion: await this.#store.replace(req.name, record, current.resourceVersion) };
      place.unmarked = false;
      return marked;
    } catch (err) {
      if (isStoreError(err, "conflict") || isStoreError(err, "not_found") || isStoreError(err, "unknown_outcome")) {
        // The ticket exists; the lock changed, so mark it again on what it is now.
        return "retry";
      }
      throw translate(err);
    }
  }

  /**
   * What to watch while blocked: the lock for those in line who could take a place the moment one
   * frees, else the ticket just ahead.
   */
  #blocked(current: Versioned, queue: QueueView, ahead: number, capacity: number): Blocked {
    const lockWatch = { lock: current, queue, watch: { kind: "lock" as const, resourceVersion: current.resourceVersion }, until: this.#holdEnd(current.record) };
    if (ahead < capacity) return lockWatch;
    const entry = queue.waiting[ahead - 1]!;
    // A waiter ahead that stops asking drops out at its ticket's end; the next one takes over then.
    return { lock: current, queue, watch: { kind: "ticket", entry }, until: ticketExpiresAt(entry.ticket).getTime() + this.#skewMs };
  }

  /** The moment the first live hold ends by itself (Infinity for a free lock: only a change matters then). */
  #holdEnd(record: LockRecord): number {
    const held = this.#holders(record, this.#clock.now());
    const ends = held.holds.map((hold) => holdExpiresAt(hold).getTime() + this.#skewMs);
    // Another Lease client's live hold is no grant, so not among the holds.
    if (held.leaseHolderLive && !record.grant) ends.push(expiresAt(record)!.getTime() + this.#skewMs);
    return Math.min(Number.POSITIVE_INFINITY, ...ends);
  }

  /**
   * Who holds the lock now: the Lease's own holder while it is live (a grant, or another Lease
   * client, which then takes one place), and a semaphore's live holds.
   */
  #holders(record: LockRecord, now: Date): { count: number; holds: Hold[]; semaphoreHolds: Hold[]; leaseHolderLive: boolean } {
    const leaseHolderLive = this.#isLive(record, now) && !isSemaphoreCover(record);
    const semaphoreHolds = liveHolds(record, now, this.#skewMs);
    const leaseHold = leaseHolderLive ? leaseHolderHold(record) : undefined;
    return {
      count: semaphoreHolds.length + (leaseHolderLive ? 1 : 0),
      holds: leaseHold ? [leaseHold, ...semaphoreHolds] : semaphoreHolds,
      semaphoreHolds,
      leaseHolderLive,
    };
  }

  /**
   * The end of one waiting request: the place is kept for the ticket TTL from now (the caller is
   * to ask again within it), and the refusal tells where in line the caller stands.
   */
  async #endWait(req: AcquireRequest, blocked: Blocked, place: Place | undefined, now: Date): Promise<LockError> {
    if (place?.joined) {
      await this.#store.renewTicket(req.name, place.id, { renewedAt: now, ttlSeconds: this.#ticketTtlSeconds }).catch(() => {
        // Best effort: a ticket that cannot be shortened keeps the longer life it has.
      });
    }
    return this.#heldError(blocked, now, req.waitMs !== undefined && req.waitMs > 0, place);
  }

  /**
   * Deletes the caller's own ticket (it was granted: left in line, it would stand first for a
   * waiter who is gone) and leftover tickets; failures leave them to expire.
   */
  async #sweep(lock: string, stale: VersionedTicket[], ownId: string | undefined): Promise<void> {
    const deletions = stale.slice(0, MAX_SWEEP).map((entry) => this.#store.deleteTicket(lock, entry.ticket.id, entry.resourceVersion));
    if (ownId !== undefined) deletions.push(this.#store.deleteTicket(lock, ownId));
    if (deletions.length > 0) await Promise.allSettled(deletions);
  }

  /** The caller's place: the ticket it shows, else the one its Idempotency-Key names, else a new one. */
  async #placeOf(req: { name: string; subject: string; issuer?: string; ticket?: string; idempotencyKey?: string }): Promise<Place> {
    const lockKey = this.#lockKey(req.name);
    const ticket =
      req.ticket ??
      (req.idempotencyKey
        ? ticketFromSecret(await this.#tokens.idempotentSecret(lockKey, callerKey(req), `queue\n${req.idempotencyKey}`))
        : randomTicket());
    const mayHaveTicket = req.ticket !== undefined || req.idempotencyKey !== undefined;
    return { ticket, id: await ticketId(lockKey, callerKey(req), ticket), joined: false, unmarked: false, mayHaveTicket };
  }

  async #listTickets(name: string | undefined): Promise<TicketList> {
    try {
      return await this.#store.listTickets(name);
    } catch (err) {
      throw translate(err);
    }
  }

  /**
   * Sleeps until the watched lock or ticket changes, `ms` pass, or `signal` aborts. A store that
   * cannot watch right now is read again every WATCH_FALLBACK_POLL_MS instead: the wait goes on,
   * and reading reports a backend that is really down.
   */
  async #waitForChange(name: string, watch: Blocked["watch"], ms: number, signal: AbortSignal | undefined): Promise<void> {
    const done = new AbortController();
    const stop = () => done.abort();
    signal?.addEventListener("abort", stop, { once: true });
    try {
      const change =
        watch.kind === "lock"
          ? this.#store.waitForChange(name, watch.resourceVersion, done.signal)
          : this.#store.waitForTicketChange(name, watch.entry.ticket.id, watch.entry.resourceVersion, done.signal);
      await Promise.race([
        change.catch((err: unknown) => {
          this.#onWatchFailure(err);
          return this.#clock.sleep(Math.min(ms, WATCH_FALLBACK_POLL_MS), done.signal);
        }),
        this.#clock.sleep(ms, done.signal),
      ]);
    } finally {
      stop();
      signal?.removeEventListener("abort", stop);
    }
  }

  async renew(name: string, token: string, ttlSeconds: number | undefined): Promise<Grant> {
    const { claim, secret, sameGrantToken } = await this.#open(name, token);
    const now = this.#clock.now();
    const renewed = (hold: Hold): Hold => ({ ...hold, renewedAt: now, ttlSeconds: ttlSeconds ?? hold.ttlSeconds });
    // A semaphore's holders share one Lease: a renewal rewrites it at the revision read.
    if (this.#maxHolders(name) > 1) {
      const rewritten = await this.#rewriteHold(name, claim, renewed);
      if (!("gone" in rewritten)) return this.#grant(name, rewritten.hold!, rewritten.transitions, secret, false, sameGrantToken);
      // Else only a grant made before the lock became a semaphore can still be this one.
      if (!rewritten.gone || !isHeldBy(rewritten.gone.record, claim)) throw this.#lostError(name, claim, rewritten.gone, now);
    }
    try {
      const updated = await this.#store.updateHeld(name, claim, { kind: "renew", renewedAt: now, ttlSeconds });
      const hold = isHeldBy(updated.record, claim) ? leaseHolderHold(updated.record) : undefined;
      if (!hold) throw refusedWhileHeld(new Error("the renewed lock no longer shows the grant"));
      return this.#grant(name, hold, updated.record.transitions, secret, false, sameGrantToken);
    } catch (err) {
      if (isStoreError(err, "precondition_failed") || isStoreError(err, "not_found")) {
        const current = await this.#read(name);
        if (current && isHeldBy(current.record, claim)) throw refusedWhileHeld(err);
        // A hold granted while the lock was a semaphore (its configuration changed since).
        if (current && findHold(current.record, claim)) {
          const rewritten = await this.#rewriteHold(name, claim, renewed);
          if (!("gone" in rewritten)) return this.#grant(name, rewritten.hold!, rewritten.transitions, secret, false, sameGrantToken);
        }
        throw this.#lostError(name, claim, current, now);
      }
      throw translate(err);
    }
  }

  async release(name: string, token: string): Promise<{ released: boolean }> {
    const { claim } = await this.#open(name, token);
    if (this.#maxHolders(name) > 1) {
      const rewritten = await this.#rewriteHold(name, claim, () => undefined);
      if (!("gone" in rewritten)) {
        this.#released(name, claim, rewritten.ended.acquiredAt, rewritten.ended);
        return { released: true };
      }
      // Else only a grant made before the lock became a semaphore can still be this one.
      if (!rewritten.gone || !isHeldBy(rewritten.gone.record, claim)) return { released: false };
    }
    try {
      const released = await this.#store.updateHeld(name, claim, { kind: "release" });
      this.#released(name, claim, released.record.acquiredAt);
      return { released: true };
    } catch (err) {
      if (isStoreError(err, "precondition_failed") || isStoreError(err, "not_found")) {
        // The grant is over. Repeating a release is harmless; a lock someone else now holds is not ours to touch.
        const current = await this.#read(name);
        if (current && isHeldBy(current.record, claim)) throw refusedWhileHeld(err);
        if (current && findHold(current.record, claim)) {
          const rewritten = await this.#rewriteHold(name, claim, () => undefined);
          if ("gone" in rewritten) return { released: false };
          this.#released(name, claim, rewritten.ended.acquiredAt, rewritten.ended);
          return { released: true };
        }
        if (current && this.#isLive(current.record, this.#clock.now()) && !isSemaphoreCover(current.record)) {
          throw new LockError("not_holder", "the lock is held by someone else", { heldBy: this.#heldBy(current.record) });
        }
        return { released: false };
      }
      throw translate(err);
    }
  }

  /**
   * Renews or releases one of a semaphore's holds: the Lease is read and rewritten at that
   * revision (holds that ran out are dropped on the way), so concurrent holders never undo each
   * other's writes. A hold that is gone was released, or dropped after it ran out.
   */
  async #rewriteHold(
    name: string,
    claim: GrantClaim,
    change: (hold: Hold) => Hold | undefined,
  ): Promise<{ hold?: Hold; ended: Hold; transitions: number } | { gone: Versioned | null }> {
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const current = await this.#read(name);
      const hold = current && findHold(current.record, claim);
      if (!current || !hold) return { gone: current };
      const now = this.#clock.now();
      const others = liveHolds(current.record, now, this.#skewMs).filter((other) => other !== hold);
      const changed = change(hold);
      const leaseHolderLive = this.#isLive(current.record, now) && !isSemaphoreCover(current.record);
      const record = withHolds(current.record, changed ? [...others, changed] : others, now, !leaseHolderLive);
      try {
        await this.#store.replace(name, record, current.resourceVersion);
        return { hold: changed, ended: hold, transitions: record.transitions };
      } catch (err) {
        // Another holder wrote first (or the outcome is unknown): decide again on what is there now.
        if (isStoreError(err, "conflict") || isStoreError(err, "unknown_outcome") || isStoreError(err, "not_found")) continue;
        throw translate(err);
      }
    }
    throw new LockError("contention", "the lock changed on every attempt; retry shortly", { retryAfterSeconds: 1 });
  }

  #emit(event: LockEvent): void {
    try {
      this.#events(event);
    } catch {
      // A sink that fails must never change a lock answer.
    }
  }

  /** Tells of a grant: a takeover when it replaced a hold whose time had run out. */
  #granted(name: string, hold: Hold, before: LockRecord, joinedAt: Date | undefined, now: Date): void {
    const replaced = before.holderIdentity !== undefined && !isSemaphoreCover(before) ? before : undefined;
    this.#emit({
      kind: replaced ? "taken_over" : "acquired",
      lock: name,
      at: now,
      holderIdentity: hold.holderIdentity,
      subject: hold.grant.subject,
      issuer: hold.grant.issuer,
      label: hold.grant.label,
      fencingToken: hold.grant.fencingToken,
      ...(replaced && { previousHolder: replaced.holderIdentity, heldSeconds: secondsBetween(replaced.acquiredAt, now) }),
      ...(joinedAt && { waitedSeconds: secondsBetween(joinedAt, now) }),
    });
  }

  #released(name: string, claim: GrantClaim, acquiredAt: Date | undefined, hold?: Hold): void {
    this.#emit({
      kind: "released",
      lock: name,
      at: this.#clock.now(),
      holderIdentity: claim.holderIdentity,
      subject: hold?.grant.subject,
      issuer: hold?.grant.issuer,
      label: hold?.grant.label,
      fencingToken: claim.fencingToken,
      heldSeconds: secondsBetween(acquiredAt, this.#clock.now()),
    });
  }

  /** The refusal of a renewal whose grant is gone, told as an event: the holder lost the lock. */
  #lostError(name: string, claim: GrantClaim, current: Versioned | null, now: Date): LockError {
    this.#emit({ kind: "lost", lock: name, at: now, holderIdentity: claim.holderIdentity, fencingToken: claim.fencingToken });
    return new LockError("lost", "the lock was released or granted to someone else since this token was issued", {
      heldBy: current && this.#isLive(current.record, now) ? this.#heldBy(current.record) : undefined,
    });
  }

  /** Ends any hold (of a grant or of another Lease client) regardless of its token; the actor is recorded on the lock. */
  async forceRelease(name: string, actor: Actor): Promise<{ released: boolean }> {
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const current = await this.#read(name);
      if (!current) throw new LockError("not_found", "no such lock");
      if (!current.record.holderIdentity && !current.record.holds) return { released: false };
      // Every hold ends: the Lease's own holder and a semaphore's holds alike.
      const { holderIdentity: _ended, grant: _grant, holds: _holds, ...rest } = current.record;
      const forcedRelease = { by: actor.subject, issuer: actor.issuer, at: this.#clock.now() };
      const record: LockRecord = { ...rest, forcedRelease };
      const told = () => {
        const holders = this.#holders(current.record, forcedRelease.at).holds;
        this.#emit({
          kind: "force_released",
          lock: name,
          at: forcedRelease.at,
          previousHolder: holders.map((hold) => hold.holderIdentity).join(", ") || current.record.holderIdentity,
          fencingToken: holders.map((hold) => hold.grant.fencingToken).join(", ") || undefined,
          heldSeconds: secondsBetween(current.record.acquiredAt, forcedRelease.at),
          by: { subject: actor.subject, issuer: actor.issuer },
        });
        return { released: true };
      };
      try {
        await this.#store.replace(name, record, current.resourceVersion);
        return told();
      } catch (err) {
        // A lock deleted since it was read is decided again from scratch (created free first).
        if (isStoreError(err, "conflict") || isStoreError(err, "not_found")) continue;
        if (isStoreError(err, "unknown_outcome")) {
          const after = await this.#read(name);
          if (!after?.record.holderIdentity && !after?.record.holds && after?.record.forcedRelease?.at.getTime() === forcedRelease.at.getTime()) return told();
          continue;
        }
        throw translate(err);
      }
    }
    throw new LockError("contention", "the lock changed on every attempt; retry shortly", { retryAfterSeconds: 1 });
  }

  /**
   * Whether the grant with this fencing token holds the lock right now: a check for a resource
   * that can ask but cannot keep the highest token it has seen (in the spirit of Chubby's
   * CheckSequencer). Only a point-in-time answer: the grant can end the moment after.
   */
  async verify(name: string, fencingToken: string): Promise<{ live: boolean; expiresAt?: Date }> {
    const current = await this.#read(name);
    if (!current) throw new LockError("not_found", "no such lock");
    const hold = this.#holders(current.record, this.#clock.now()).holds.find((candidate) => candidate.grant.fencingToken === fencingToken);
    return hold ? { live: true, expiresAt: holdExpiresAt(hold) } : { live: false };
  }

  /** The lock and its line (read only when the lock says it has one). */
  async state(name: string): Promise<LockState | null> {
    const current = await this.#read(name);
    if (!current) return null;
    const tickets = current.record.queueMark === undefined ? undefined : await this.#listTickets(name);
    return this.#state(name, current, tickets);
  }

  /**
   * One page of locks; `cursor` is the opaque value the previous page returned. `scope` names who
   * lists and what: a cursor resumes only a listing of the same scope, in this namespace.
   */
  async list(limit: number, cursor: string | undefined, scope: string): Promise<{ items: LockState[]; cursor?: string }> {
    const cursorScope = `${this.#namespace}\n${scope}`;
    const continueToken = cursor === undefined ? undefined : await this.#cursors.open(cursor, cursorScope);
    if (continueToken === null) throw new LockError("invalid_cursor", "is not a continue value this service issued for this listing: list again without it");
    const page = await this.#store.list({ limit, continueToken }).catch((err: unknown) => {
      throw translate(err);
    });
    // One listing of every ticket serves the whole page, and only when some lock on it has a line.
    const tickets = page.items.some((item) => item.record.queueMark !== undefined) ? await this.#listTickets(undefined) : undefined;
    return {
      items: page.items.map((item) => this.#state(item.name, item, tickets && { ...tickets, tickets: tickets.tickets.filter((entry) => entry.ticket.lock === item.name) })),
      cursor: page.continueToken === undefined ? undefined : await this.#cursors.seal(page.continueToken, cursorScope),
    };
  }

  #state(name: string, current: Versioned, tickets: TicketList | undefined): LockState {
    const { record } = current;
    const now = this.#clock.now();
    const waiting = tickets ? queueView(tickets, record, now, this.#skewMs).waiting : [];
    const grant = record.grant;
    const status: LockStatus = !record.holderIdentity ? "free" : this.#isLive(record, this.#clock.now()) ? "held" : "expired";
    const holding = status !== "free";
    return {
      name,
      status,
      holderIdentity: record.holderIdentity,
      holder: grant?.label,
      subject: grant?.subject,
      issuer: grant?.issuer,
      fencingToken: grant?.fencingToken,
      acquiredAt: holding ? record.acquiredAt : undefined,
      renewedAt: holding ? record.renewedAt : undefined,
      expiresAt: holding ? expiresAt(record) : undefined,
      ttlSeconds: record.ttlSeconds,
      transitions: record.transitions,
      metadata: grant?.metadata ?? {},
      forcedRelease: record.forcedRelease,
      maxHolders: this.#maxHolders(name),
      holders: this.#holders(record, now).holds.map((hold) => ({
        holderIdentity: hold.holderIdentity,
        holder: hold.grant.label,
        subject: hold.grant.subject,
        issuer: hold.grant.issuer,
        fencingToken: hold.grant.fencingToken,
        acquiredAt: hold.acquiredAt,
        renewedAt: hold.renewedAt,
        expiresAt: holdExpiresAt(hold),
        metadata: hold.grant.metadata,
      })),
      queue: waiting.map(({ ticket }, index) => ({
        position: index + 1,
        holderIdentity: ticket.holderIdentity,
        holder: ticket.label,
        subject: ticket.subject,
        issuer: ticket.issuer,
        waitingSince: ticket.joinedAt,
        expiresAt: ticketExpiresAt(ticket),
      })),
    };
  }

  /** `token`: the grant's token when the caller showed it and the current key signed it (a renew); else it is signed. */
  async #grant(name: string, hold: Hold, transitions: number, secret: string, replayed: boolean, token?: string): Promise<Grant> {
    const { grant, holderIdentity } = hold;
    return {
      name,
      holder: grant.label,
      holderIdentity,
      subject: grant.subject,
      token: token ?? (await this.#tokens.issue(this.#lockKey(name), { fencingToken: grant.fencingToken, secret, holderIdentity })),
      fencingToken: grant.fencingToken,
      acquiredAt: hold.acquiredAt,
      renewedAt: hold.renewedAt,
      expiresAt: holdExpiresAt(hold),
      ttlSeconds: hold.ttlSeconds,
      transitions,
      metadata: grant.metadata,
      replayed,
    };
  }

  /** The grant a token names, as the preconditions of a conditional write. */
  async #open(name: string, token: string): Promise<{ claim: GrantClaim; secret: string; sameGrantToken: string | undefined }> {
    const opened: OpenedToken | null = await this.#tokens.open(this.#lockKey(name), token);
    if (!opened) throw new LockError("invalid_token", "the token was not issued for this lock");
    const claim = { holderIdentity: opened.holderIdentity, verifier: await this.#tokens.verifierOf(opened.secret), fencingToken: opened.fencingToken };
    // An answer for this very grant can hand the token back as it came, unless an older key signed it.
    return { claim, secret: opened.secret, sameGrantToken: opened.signedByCurrentKey ? token : undefined };
  }

  /** Creates a never-seen lock free; null when someone else created it first (read it again). */
  async #createFree(name: string, ttlSeconds: number): Promise<Versioned | null> {
    const record: LockRecord = { ttlSeconds, transitions: 0 };
    try {
      return { record, resourceVersion: await this.#store.create(name, record) };
    } catch (err) {
      if (isStoreError(err, "already_exists") || isStoreError(err, "unknown_outcome")) return null;
      throw translate(err);
    }
  }

  async #read(name: string): Promise<Versioned | null> {
    try {
      return await this.#store.get(name);
    } catch (err) {
      throw translate(err);
    }
  }

  /**
   * Held, by anyone, the way every Lease client decides it: a holder is named and its
   * `renewTime + leaseDurationSeconds` (plus the skew allowance) has not passed.
   */
  #isLive(record: LockRecord, now: Date): boolean {
    const end = expiresAt(record);
    return Boolean(record.holderIdentity) && end !== undefined && now.getTime() <= end.getTime() + this.#skewMs;
  }

  /** The holder to name in a refusal: for a semaphore, the hold that ends first (a place frees then at the latest). */
  #heldBy(record: LockRecord): HeldBy {
    if (isSemaphoreCover(record)) {
      const first = this.#holders(record, this.#clock.now()).holds.sort((a, b) => holdExpiresAt(a).getTime() - holdExpiresAt(b).getTime())[0];
      if (first) return { holderIdentity: first.holderIdentity, holder: first.grant.label, subject: first.grant.subject, expiresAt: holdExpiresAt(first) };
    }
    const grant = record.grant;
    return {
      holderIdentity: record.holderIdentity!,
      holder: grant ? grant.label : record.holderIdentity,
      subject: grant?.subject,
      expiresAt: expiresAt(record),
    };
  }

  /**
   * The refusal: who holds the lock (if anyone does) and the caller's place in line. A caller that
   * waited may call again at once (it waits on, in its place); others when the hold can end.
   */
  #heldError(blocked: Blocked, now: Date, waited: boolean, place?: Place): LockError {
    const { record } = blocked.lock;
    const live = this.#isLive(record, now);
    const holdLeftSeconds = Math.ceil((this.#holdEnd(record) - now.getTime()) / 1000);
    const retryAfterSeconds = waited ? 0 : live ? Math.max(1, holdLeftSeconds) : 1;
    const queue = blocked.queue && {
      waiters: blocked.queue.waiting.length,
      ...(place && blocked.queue.ownIndex >= 0 && { position: blocked.queue.ownIndex + 1, ticket: place.ticket }),
    };
    const message = live ? "the lock is held by another caller" : "the lock is free but others wait in line for it";
    return new LockError("held", message, { heldBy: live ? this.#heldBy(record) : undefined, retryAfterSeconds, queue });
  }

  #lockKey(name: string): string {
    return `${this.#namespace}/${name}`;
  }
}

/**
 * The fencing token of a grant written on top of `resourceVersion`: one more than that revision.
 * Kubernetes resourceVersions are etcd revisions, so the granting write's own revision is at
 * least this, and every later grant replaces a revision at least as high as that write's.
 */
export function nextFencingToken(resourceVersion: string): string {
  if (!DECIMAL_REVISION.test(resourceVersion)) {
    throw new LockError("backend_invalid", `storage revision ${JSON.stringify(resourceVersion.slice(0, 40))} is not an unsigned integer; fencing tokens need comparable revisions`);
  }
  return (BigInt(resourceVersion) + 1n).toString();
}

function secondsBetween(from: Date | undefined, to: Date): number | undefined {
  return from ? Math.max(0, (to.getTime() - from.getTime()) / 1000) : undefined;
}

/** A waiter as events name it. */
function whoWaits(ticket: { holderIdentity: string; subject: string; issuer?: string; label?: string }) {
  return { holderIdentity: ticket.holderIdentity, subject: ticket.subject, issuer: ticket.issuer, label: ticket.label };
}

/** The ticket a granted waiting request must delete: one it made, or one an earlier request of its series may have made. */
function ownTicketOf(place: Place | undefined): string | undefined {
  return place && (place.joined || place.mayHaveTicket) ? place.id : undefined;
}

/** One caller: the same `sub` from two issuers is two callers. */
function callerKey(caller: { subject: string; issuer?: string }): string {
  return `${caller.issuer ?? ""}\n${caller.subject}`;
}

/** Whether the lock is still held by exactly the grant a token names. */
function isHeldBy(record: LockRecord, claim: GrantClaim): boolean {
  return (
    record.holderIdentity === claim.holderIdentity &&
    record.grant?.verifier === claim.verifier &&
    record.grant.fencingToken === claim.fencingToken
  );
}

/** A semaphore's hold that a token names. */
function findHold(record: LockRecord, claim: GrantClaim): Hold | undefined {
  return record.holds?.find(
    (hold) => hold.holderIdentity === claim.holderIdentity && hold.grant.verifier === claim.verifier && hold.grant.fencingToken === claim.fencingToken,
  );
}

/** The grant a token names, wherever the lock keeps it. */
function findGrant(record: LockRecord, claim: GrantClaim): Hold | undefined {
  return isHeldBy(record, claim) ? leaseHolderHold(record) : findHold(record, claim);
}

function claimOf(hold: Hold): GrantClaim {
  return { holderIdentity: hold.holderIdentity, verifier: hold.grant.verifier, fencingToken: hold.grant.fencingToken };
}

/** The store refused a write although the grant is still ours: the write itself was rejected. */
function refusedWhileHeld(cause: unknown): LockError {
  return new LockError("backend_invalid", "the storage refused the update although the grant is still held", { cause });
}

function translate(err: unknown): unknown {
  if (err instanceof LockError || !(err instanceof StoreError)) return err;
  switch (err.reason) {
    case "not_managed":
      return new LockError("not_managed", "a Lease of this name exists but is not managed by leasegate", { cause: err });
    case "forbidden":
      return new LockError("backend_forbidden", err.message, { cause: err });
    case "cursor_expired":
      return new LockError("invalid_cursor", "has expired: list again without it", { cause: err });
    case "invalid_response":
      return new LockError("backend_invalid", err.message, { cause: err });
    case "unavailable":
    case "unknown_outcome":
      return new LockError("backend_unavailable", err.message, { cause: err, retryAfterSeconds: 1 });
    default:
      return new LockError("backend_invalid", err.message, { cause: err });
  }
}
