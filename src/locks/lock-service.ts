import type { Clock } from "./clock.ts";
import { LockError, type HeldBy } from "./lock-errors.ts";
import { expiresAt, type Holder, type LockRecord, type Versioned } from "./lock-record.ts";
import { isStoreError, type LockStore, StoreError } from "./lock-store.ts";
import { randomSecret, type TokenKeys, verifierOf } from "./lock-token.ts";

export interface LockServiceOptions {
  store: LockStore;
  clock: Clock;
  tokens: TokenKeys;
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
}

export interface Grant {
  name: string;
  holder?: string;
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
  holder?: string;
  subject?: string;
  fencingToken?: string;
  acquiredAt?: Date;
  renewedAt?: Date;
  expiresAt?: Date;
  ttlSeconds: number;
  transitions: number;
  metadata: Record<string, string>;
  forcedRelease?: { by: string; at: Date };
}

/**
 * The lock algorithm: every decision is made on a record read at a known revision, and every
 * write is conditional, so concurrent gateways can never both grant the same lock.
 */
export class LockService {
  readonly #store: LockStore;
  readonly #clock: Clock;
  readonly #tokens: TokenKeys;
  readonly #namespace: string;
  readonly #skewMs: number;
  readonly #maxAttempts: number;

  constructor(options: LockServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#tokens = options.tokens;
    this.#namespace = options.namespace;
    this.#skewMs = options.skewAllowanceSeconds * 1000;
    this.#maxAttempts = options.maxAttempts ?? 5;
  }

  async acquire(req: AcquireRequest): Promise<Grant> {
    const secret = req.idempotencyKey
      ? await this.#tokens.idempotentSecret(this.#lockKey(req.name), `${req.issuer ?? ""}\n${req.subject}`, req.idempotencyKey)
      : randomSecret();
    const verifier = await verifierOf(secret);

    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      // 1. Read the lock and the revision every decision below is based on.
      const current = await this.#read(req.name);
      const now = this.#clock.now();

      // 2. A live grant is kept, unless it is this very acquisition being retried.
      if (current?.record.holder && !this.#isExpired(current.record, now)) {
        if (current.record.holder.verifier === verifier) {
          return this.#grant(req.name, current, secret, true);
        }
        throw this.#heldError(current.record, current.record.holder, now);
      }

      // 3. Free, expired or absent: build the new grant on top of what was read.
      const holder: Holder = { subject: req.subject, label: req.label, verifier, metadata: req.metadata };
      const record: LockRecord = {
        holder,
        ttlSeconds: req.ttlSeconds,
        acquiredAt: now,
        renewedAt: now,
        transitions: current ? current.record.transitions + 1 : 0,
      };

      // 4. Write conditionally; losing a race means reading again and deciding again.
      try {
        const resourceVersion = current
          ? await this.#store.replace(req.name, record, current.resourceVersion)
          : await this.#store.create(req.name, record);
        return this.#grant(req.name, { record, resourceVersion }, secret, false);
      } catch (err) {
        if (isStoreError(err, "conflict") || isStoreError(err, "already_exists") || isStoreError(err, "not_found")) continue;
        if (isStoreError(err, "unknown_outcome")) {
          // 5. The write may have landed: only the stored verifier can tell.
          const landed = await this.#read(req.name);
          if (landed?.record.holder?.verifier === verifier) return this.#grant(req.name, landed, secret, false);
          continue;
        }
        throw translate(err);
      }
    }
    throw new LockError("contention", "the lock changed on every attempt; retry shortly", { retryAfterSeconds: 1 });
  }

  async renew(name: string, token: string, ttlSeconds: number | undefined): Promise<Grant> {
    const opened = await this.#open(name, token);
    const now = this.#clock.now();
    const verifier = await verifierOf(opened.secret);
    try {
      const updated = await this.#store.updateHeld(name, verifier, {
        kind: "renew",
        renewedAt: now,
        ttlSeconds,
        fencingToken: opened.fencingToken,
      });
      return this.#grant(name, updated, opened.secret, false);
    } catch (err) {
      if (isStoreError(err, "precondition_failed") || isStoreError(err, "not_found")) {
        const current = await this.#read(name);
        const holder = current?.record.holder;
        if (holder?.verifier === verifier) throw refusedWhileHeld(err);
        throw new LockError("lost", "the lock was released or granted to someone else since this token was issued", {
          heldBy: holder && current && !this.#isExpired(current.record, now) ? this.#heldBy(current.record, holder) : undefined,
        });
      }
      throw translate(err);
    }
  }

  async release(name: string, token: string): Promise<{ released: boolean }> {
    const opened = await this.#open(name, token);
    const verifier = await verifierOf(opened.secret);
    try {
      await this.#store.updateHeld(name, verifier, { kind: "release" });
      return { released: true };
    } catch (err) {
      if (isStoreError(err, "precondition_failed") || isStoreError(err, "not_found")) {
        // The grant is over. Repeating a release is harmless; a lock someone else now holds is not ours to touch.
        const current = await this.#read(name);
        const now = this.#clock.now();
        const holder = current?.record.holder;
        if (holder?.verifier === verifier) throw refusedWhileHeld(err);
        if (current && holder && !this.#isExpired(current.record, now)) {
          throw new LockError("not_holder", "the lock is held by someone else", { heldBy: this.#heldBy(current.record, holder) });
        }
        return { released: false };
      }
      throw translate(err);
    }
  }

  /** Ends any grant regardless of its token; the actor is recorded on the lock. */
  async forceRelease(name: string, actor: string): Promise<{ released: boolean }> {
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const current = await this.#read(name);
      if (!current) throw new LockError("not_found", "no such lock");
      if (!current.record.holder) return { released: false };
      const { holder: _ended, fencingToken: _fencing, ...rest } = current.record;
      const record: LockRecord = { ...rest, forcedRelease: { by: actor, at: this.#clock.now() } };
      try {
        await this.#store.replace(name, record, current.resourceVersion);
        return { released: true };
      } catch (err) {
        if (isStoreError(err, "conflict") || isStoreError(err, "not_found")) continue;
        if (isStoreError(err, "unknown_outcome")) {
          const after = await this.#read(name);
          if (after?.record.forcedRelease?.by === actor && !after.record.holder) return { released: true };
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

  /** One page of locks; `cursor` is the opaque value the previous page returned. */
  async list(limit: number, cursor?: string): Promise<{ items: LockState[]; cursor?: string }> {
    const continueToken = cursor === undefined ? undefined : await this.#tokens.openCursor(cursor);
    if (continueToken === null) throw new LockError("invalid_cursor", "is not a continue value from this service: list again without it");
    const page = await this.#store.list({ limit, continueToken }).catch((err: unknown) => {
      throw translate(err);
    });
    return {
      items: page.items.map((item) => this.#state(item.name, item)),
      cursor: page.continueToken === undefined ? undefined : await this.#tokens.sealCursor(page.continueToken),
    };
  }

  #state(name: string, current: Versioned): LockState {
    const { record } = current;
    const holder = record.holder;
    const status: LockStatus = !holder ? "free" : this.#isExpired(record, this.#clock.now()) ? "expired" : "held";
    return {
      name,
      status,
      holder: holder?.label,
      subject: holder?.subject,
      fencingToken: holder ? fencingTokenOf(current) : undefined,
      acquiredAt: holder ? record.acquiredAt : undefined,
      renewedAt: holder ? record.renewedAt : undefined,
      expiresAt: holder ? expiresAt(record) : undefined,
      ttlSeconds: record.ttlSeconds,
      transitions: record.transitions,
      metadata: holder?.metadata ?? {},
      forcedRelease: record.forcedRelease,
    };
  }

  async #grant(name: string, current: Versioned, secret: string, replayed: boolean): Promise<Grant> {
    const { record } = current;
    const holder = record.holder!;
    const fencingToken = fencingTokenOf(current);
    return {
      name,
      holder: holder.label,
      subject: holder.subject,
      token: await this.#tokens.issue(this.#lockKey(name), fencingToken, secret),
      fencingToken,
      acquiredAt: record.acquiredAt!,
      renewedAt: record.renewedAt!,
      expiresAt: expiresAt(record)!,
      ttlSeconds: record.ttlSeconds,
      transitions: record.transitions,
      metadata: holder.metadata,
      replayed,
    };
  }

  async #open(name: string, token: string) {
    const opened = await this.#tokens.open(this.#lockKey(name), token);
    if (!opened) throw new LockError("invalid_token", "the token was not issued for this lock");
    return opened;
  }

  async #read(name: string): Promise<Versioned | null> {
    try {
      return await this.#store.get(name);
    } catch (err) {
      throw translate(err);
    }
  }

  #isExpired(record: LockRecord, now: Date): boolean {
    const end = expiresAt(record);
    return end === undefined || now.getTime() > end.getTime() + this.#skewMs;
  }

  #heldBy(record: LockRecord, holder: Holder): HeldBy {
    return { holder: holder.label, subject: holder.subject, expiresAt: expiresAt(record) };
  }

  #heldError(record: LockRecord, holder: Holder, now: Date): LockError {
    const end = expiresAt(record)!;
    const retryAfterSeconds = Math.max(1, Math.ceil((end.getTime() + this.#skewMs - now.getTime()) / 1000));
    return new LockError("held", "the lock is held by another caller", { heldBy: this.#heldBy(record, holder), retryAfterSeconds });
  }

  #lockKey(name: string): string {
    return `${this.#namespace}/${name}`;
  }
}

/** The grant's fencing token: recorded by a renew, or else the revision of the granting write itself. */
export function fencingTokenOf(current: Versioned): string {
  const token = current.record.fencingToken ?? current.resourceVersion;
  if (!/^[0-9]{1,20}$/.test(token)) {
    throw new LockError("backend_invalid", `storage revision ${JSON.stringify(token)} is not an unsigned integer; fencing tokens need comparable revisions`);
  }
  return token.replace(/^0+(?=\d)/, "");
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
