import type { Acquired } from "./acquire-within-wait.ts";
import type { Grant } from "./api-types.ts";
import type { LockLostError } from "./errors.ts";
import type { LeasegateClient } from "./leasegate-client.ts";
import { releaseGrant, type ReleaseOutcome } from "./release-grant.ts";
import { Renewer } from "./renewer.ts";

/** What the work done under `withLock` sees of its lock. */
export interface LockContext {
  /** The lock's name. */
  readonly name: string;
  /**
   * Strictly greater than every earlier grant's of this lock, the same for this whole grant
   * (decimal; compare as BigInt). Pass it to the resource you protect, so that it refuses the
   * writes of a holder that lost its lock unknowingly.
   */
  readonly fencingToken: string;
  /**
   * Aborted the moment the lock is lost (a renewal was refused, e.g. after a force release) or can
   * no longer be renewed in time (no renewal succeeded before the grant expired), with a
   * LockLostError as its reason; also when the caller's own `signal` aborts, with its reason.
   * Work done after that is no longer protected: hand it to fetch and friends, or check it.
   */
  readonly signal: AbortSignal;
  /** The latest grant (acquire, then each renewal): `expiresAt` moves. Its `token` is secret. */
  readonly grant: Grant;
  /** Whether the lock has been lost. */
  readonly lost: boolean;
  /** Throws the LockLostError if the lock has been lost (or the caller's signal aborted, its reason). */
  ensureHeld(): void;
}

export interface HeldLockHooks {
  renewalFailed?(error: unknown, failures: number): void;
  recovered?(failures: number): void;
  lost?(error: LockLostError): void;
}

/** A granted lock, renewed in the background until `finish` releases it. */
export class HeldLock implements LockContext {
  readonly name: string;
  readonly fencingToken: string;
  readonly #client: LeasegateClient;
  readonly #token: string;
  readonly #renewer: Renewer;
  readonly #controller = new AbortController();
  readonly #callerSignal?: AbortSignal;
  readonly #followCaller = () => this.#controller.abort(this.#callerSignal?.reason);
  #lostError?: LockLostError;

  constructor(client: LeasegateClient, name: string, acquired: Acquired, ttlSeconds: number | undefined, callerSignal?: AbortSignal, hooks: HeldLockHooks = {}) {
    this.name = name;
    this.fencingToken = acquired.grant.fencingToken;
    this.#client = client;
    this.#token = acquired.grant.token;
    this.#callerSignal = callerSignal;
    this.#renewer = new Renewer({
      client,
      lock: name,
      token: acquired.grant.token,
      ttlSeconds,
      grant: acquired.grant,
      validFrom: acquired.validFrom,
      renewAtOnce: acquired.renewAtOnce,
      onRenewalFailed: hooks.renewalFailed,
      onRecovered: hooks.recovered,
      onLost: (error) => {
        this.#lostError = error;
        this.#controller.abort(error);
        hooks.lost?.(error);
      },
    });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get grant(): Grant {
    return this.#renewer.grant;
  }

  get lost(): boolean {
    return this.#lostError !== undefined;
  }

  /** Why the lock was lost, once it has been. */
  get lostError(): LockLostError | undefined {
    return this.#lostError;
  }

  ensureHeld(): void {
    this.signal.throwIfAborted();
  }

  /** Starts renewing in the background. */
  start(): void {
    if (this.#callerSignal?.aborted) this.#followCaller();
    else this.#callerSignal?.addEventListener("abort", this.#followCaller, { once: true });
    this.#renewer.start();
  }

  /** Stops renewing (after a renewal in flight), then releases, whatever happened. Never rejects. */
  async finish(): Promise<ReleaseOutcome> {
    this.#callerSignal?.removeEventListener("abort", this.#followCaller);
    await this.#renewer.stop();
    return releaseGrant(this.#client, this.name, this.#token);
  }
}
