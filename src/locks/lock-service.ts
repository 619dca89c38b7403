import type { Clock } from "./clock.ts";
import { LockError, type HeldBy } from "./lock-errors.ts";
import { holderIdentityOf } from "./holder-identity.ts";
import type { ListCursors } from "./list-cursor.ts";
import { DECIMAL_REVISION, expiresAt, type LockRecord, type Versioned } from "./lock-record.ts";
import { type GrantClaim, isStoreError, type LockStore, StoreError } from "./lock-store.ts";
import { type GrantToken, randomSecret, type TokenKeys, verifierOf } from "./lock-token.ts";

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
}

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

  constructor(options: LockServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#tokens = options.tokens;
    this.#cursors = options.cursors;
    this.#namespace = options.namespace;
    this.#skewMs = options.skewAllowanceSeconds * 1000;
    this.#maxAttempts = options.maxAttempts ?? 5;
  }

  /**
   * Grants the lock, or refuses it while someone holds it. With `waitMs`, a held lock is waited
   * for: the wait watches the lock and decides again the moment it changes (a release) or its
   * holder's time runs out, so a waiter is granted within one round trip of the lock coming free.
   */
  async acquire(req: AcquireRequest): Promise<Grant> {
    const secret = req.idempotencyKey
      ? await this.#tokens.idempotentSecret(this.#lockKey(req.name), `${req.issuer ?? ""}\n${req.subject}`, req.idempotencyKey)
      : randomSecret();
    const applicant = { secret, verifier: await verifierOf(secret), holderIdentity: holderIdentityOf(req.subject, req.label) };
    const waitMs = req.waitMs ?? 0;
    const deadline = this.#clock.now().getTime() + waitMs;
    let unchanged = { resourceVersion: "", rounds: 0 };
    for (;;) {
      const outcome = await this.#tryAcquire(req, applicant);
      if ("granted" in outcome) return outcome.granted;
      const { record, resourceVersion } = outcome.heldAt;
      unchanged = { resourceVersion, rounds: resourceVersion === unchanged.resourceVersion ? unchanged.rounds + 1 : 0 };
      // Checked after every await: a caller that hung up must never be granted a lock nobody receives.
      const stillWaiting = () => {
        const now = this.#clock.now();
        if (now.getTime() >= deadline || req.signal?.aborted) throw this.#heldError(record, now, waitMs > 0);
        return deadline - now.getTime();
      };
      let remaining = stillWaiting();
      if (unchanged.rounds > 0) {
        const backoff = Math.min(MIN_WAIT_ROUND_MS * 2 ** (unchanged.rounds - 1), MAX_UNCHANGED_BACKOFF_MS);
        await this.#clock.sleep(Math.min(backoff, remaining), req.signal);
        remaining = stillWaiting();
      }
      const holderTimeLeft = expiresAt(record)!.getTime() + this.#skewMs - this.#clock.now().getTime() + 1;
      await this.#waitForChange(req.name, resourceVersion, Math.min(remaining, holderTimeLeft), req.signal);
      // A wait that ran out decides once more (the lock may have come free at the last moment).
      if (req.signal?.aborted) throw this.#heldError(record, this.#clock.now(), true);
    }
  }

  /** One decision: the grant, or the live hold (and its revision) that refused it. */
  async #tryAcquire(
    req: AcquireRequest,
    applicant: { secret: string; verifier: string; holderIdentity: string },
  ): Promise<{ granted: Grant } | { heldAt: Versioned }> {
    const { secret, verifier, holderIdentity } = applicant;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      // 1. Read the lock and the revision every decision below is based on. A lock that never
      //    existed is first created free: its revision is then a floor above every revision of
      //    any earlier Lease of this name, which the fencing token must exceed.
      const current = (await this.#read(req.name)) ?? (await this.#createFree(req.name, req.ttlSeconds));
      if (!current) continue;
      const now = this.#clock.now();

      // 2. A live hold is kept, whoever holds it (any Lease client), unless it is this very
      //    acquisition being retried.
      if (this.#isLive(current.record, now)) {
        if (current.record.grant?.verifier === verifier) return { granted: await this.#grant(req.name, current.record, secret, true) };
        return { heldAt: current };
      }

      // 3. Free or expired: build the new grant on top of what was read. Its fencing token is
      //    fixed now and written by the granting write itself: one more than the revision that
      //    write replaces, so above every earlier grant's and never later rewritten.
      const record: LockRecord = {
        holderIdentity,
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
        transitions: current.record.acquiredAt ? current.record.transitions + 1 : current.record.transitions,
      };

      // 4. Write conditionally; losing a race means reading again and deciding again.
      try {
        await this.#store.replace(req.name, record, current.resourceVersion);
        return { granted: await this.#grant(req.name, record, secret, false) };
      } catch (err) {
        // A lock deleted since it was read is decided again from scratch (created free first).
        if (isStoreError(err, "conflict") || isStoreError(err, "not_found")) continue;
        if (isStoreError(err, "unknown_outcome")) {
          // 5. The write may have landed: only the stored grant can tell.
          const landed = await this.#read(req.name);
          if (landed && sameGrant(landed.record, record)) return { granted: await this.#grant(req.name, landed.record, secret, false) };
          continue;
        }
        throw translate(err);
      }
    }
    throw new LockError("contention", "the lock changed on every attempt; retry shortly", { retryAfterSeconds: 1 });
  }

  /**
   * Sleeps until the lock changes after `resourceVersion`, `ms` pass, or `signal` aborts. A store
   * that cannot watch right now is read again every WATCH_FALLBACK_POLL_MS instead: the wait goes
   * on, and reading reports a backend that is really down.
   */
  async #waitForChange(name: string, resourceVersion: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    const done = new AbortController();
    const stop = () => done.abort();
    signal?.addEventListener("abort", stop, { once: true });
    try {
      await Promise.race([
        this.#store
          .waitForChange(name, resourceVersion, done.signal)
          .catch(() => this.#clock.sleep(Math.min(ms, WATCH_FALLBACK_POLL_MS), done.signal)),
        this.#clock.sleep(ms, done.signal),
      ]);
    } finally {
      stop();
      signal?.removeEventListener("abort", stop);
    }
  }

  async renew(name: string, token: string, ttlSeconds: number | undefined): Promise<Grant> {
    const { claim, secret } = await this.#open(name, token);
    const now = this.#clock.now();
    try {
      const updated = await this.#store.updateHeld(name, claim, { kind: "renew", renewedAt: now, ttlSeconds });
      if (!isHeldBy(updated.record, claim)) throw refusedWhileHeld(new Error("the renewed lock no longer shows the grant"));
      return this.#grant(name, updated.record, secret, false);
    } catch (err) {
      if (isStoreError(err, "precondition_failed") || isStoreError(err, "not_found")) {
        const current = await this.#read(name);
        if (current && isHeldBy(current.record, claim)) throw refusedWhileHeld(err);
        throw new LockError("lost", "the lock was released or granted to someone else since this token was issued", {
          heldBy: current && this.#isLive(current.record, now) ? this.#heldBy(current.record) : undefined,
        });
      }
      throw translate(err);
    }
  }

  async release(name: string, token: string): Promise<{ released: boolean }> {
    const { claim } = await this.#open(name, token);
    try {
      await this.#store.updateHeld(name, claim, { kind: "release" });
      return { released: true };
    } catch (err) {
      if (isStoreError(err, "precondition_failed") || isStoreError(err, "not_found")) {
        // The grant is over. Repeating a release is harmless; a lock someone else now holds is not ours to touch.
        const current = await this.#read(name);
        if (current && isHeldBy(current.record, claim)) throw refusedWhileHeld(err);
        if (current && this.#isLive(current.record, this.#clock.now())) {
          throw new LockError("not_holder", "the lock is held by someone else", { heldBy: this.#heldBy(current.record) });
        }
        return { released: false };
      }
      throw translate(err);
    }
  }

  /** Ends any hold (of a grant or of another Lease client) regardless of its token; the actor is recorded on the lock. */
  async forceRelease(name: string, actor: Actor): Promise<{ released: boolean }> {
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const current = await this.#read(name);
      if (!current) throw new LockError("not_found", "no such lock");
      if (!current.record.holderIdentity) return { released: false };
      const { holderIdentity: _ended, grant: _grant, ...rest } = current.record;
      const forcedRelease = { by: actor.subject, issuer: actor.issuer, at: this.#clock.now() };
      const record: LockRecord = { ...rest, forcedRelease };
      try {
        await this.#store.replace(name, record, current.resourceVersion);
        return { released: true };
      } catch (err) {
        // A lock deleted since it was read is decided again from scratch (created free first).
        if (isStoreError(err, "conflict") || isStoreError(err, "not_found")) continue;
        if (isStoreError(err, "unknown_outcome")) {
          const after = await this.#read(name);
          if (!after?.record.holderIdentity && after?.record.forcedRelease?.at.getTime() === forcedRelease.at.getTime()) return { released: true };
          continue;
        }
        throw translate(err);
      }
    }
    throw new LockError("contention", "the lock changed on every attempt; retry shortly", { retryAfterSeconds: 1 });
  }

  async state(name: string): Promise<LockState | null> {
    const current = await this.#read(name);
    return current ? this.#state(name, current) : null;
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
    return {
      items: page.items.map((item) => this.#state(item.name, item)),
      cursor: page.continueToken === undefined ? undefined : await this.#cursors.seal(page.continueToken, cursorScope),
    };
  }

  #state(name: string, current: Versioned): LockState {
    const { record } = current;
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
    };
  }

  async #grant(name: string, record: LockRecord, secret: string, replayed: boolean): Promise<Grant> {
    const grant = record.grant!;
    const holderIdentity = record.holderIdentity!;
    return {
      name,
      holder: grant.label,
      holderIdentity,
      subject: grant.subject,
      token: await this.#tokens.issue(this.#lockKey(name), { fencingToken: grant.fencingToken, secret, holderIdentity }),
      fencingToken: grant.fencingToken,
      acquiredAt: record.acquiredAt!,
      renewedAt: record.renewedAt!,
      expiresAt: expiresAt(record)!,
      ttlSeconds: record.ttlSeconds,
      transitions: record.transitions,
      metadata: grant.metadata,
      replayed,
    };
  }

  /** The grant a token names, as the preconditions of a conditional write. */
  async #open(name: string, token: string): Promise<{ claim: GrantClaim; secret: string }> {
    const opened: GrantToken | null = await this.#tokens.open(this.#lockKey(name), token);
    if (!opened) throw new LockError("invalid_token", "the token was not issued for this lock");
    const claim = { holderIdentity: opened.holderIdentity, verifier: await verifierOf(opened.secret), fencingToken: opened.fencingToken };
    return { claim, secret: opened.secret };
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

  #heldBy(record: LockRecord): HeldBy {
    const grant = record.grant;
    return {
      holderIdentity: record.holderIdentity!,
      holder: grant ? grant.label : record.holderIdentity,
      subject: grant?.subject,
      expiresAt: expiresAt(record),
    };
  }

  /** A caller that waited may call again at once (it waits again); others when the hold can end. */
  #heldError(record: LockRecord, now: Date, waited = false): LockError {
    const end = expiresAt(record)!;
    const retryAfterSeconds = waited ? 0 : Math.max(1, Math.ceil((end.getTime() + this.#skewMs - now.getTime()) / 1000));
    return new LockError("held", "the lock is held by another caller", { heldBy: this.#heldBy(record), retryAfterSeconds });
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

/** Whether the lock is still held by exactly the grant a token names. */
function isHeldBy(record: LockRecord, claim: GrantClaim): boolean {
  return (
    record.holderIdentity === claim.holderIdentity &&
    record.grant?.verifier === claim.verifier &&
    record.grant.fencingToken === claim.fencingToken
  );
}

function sameGrant(stored: LockRecord, written: LockRecord): boolean {
  return isHeldBy(stored, { holderIdentity: written.holderIdentity!, verifier: written.grant!.verifier, fencingToken: written.grant!.fencingToken });
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
