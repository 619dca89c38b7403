import { NotFoundError } from "./errors.ts";
import type { LeasegateClient } from "./leasegate-client.ts";

/** Leaving is a courtesy to those behind: it must not hold anything up for long. */
const LEAVE_TIMEOUT_MS = 2000;

/**
 * The caller's place in a lock's line over the requests of one wait. Every waiting request
 * carries the same Idempotency-Key, which names the place on its own, and the `ticket` of the
 * last refusal (the gateway's own name for it). A waiter that stops calling keeps its place for
 * the gateway's `queueTicketTtlSeconds` (15 s by default), holding up everyone behind it until
 * then; `leave` gives the place up at once.
 */
export class PlaceInLine {
  readonly #client: LeasegateClient;
  readonly #lock: string;
  readonly #idempotencyKey: string;
  #ticket?: string;
  #mayHold = false;

  constructor(client: LeasegateClient, lock: string, idempotencyKey: string) {
    this.#client = client;
    this.#lock = lock;
    this.#idempotencyKey = idempotencyKey;
  }

  /** The ticket to send with the next waiting request, once the gateway has given one. */
  get ticket(): string | undefined {
    return this.#ticket;
  }

  /** Whether the gateway may keep a place in line for us. */
  get mayHold(): boolean {
    return this.#mayHold;
  }

  /**
   * A waiting request was answered "not yet": the caller has a place. Keeps the ticket (only one
   * of the shape the gateway issues comes this far); without one, the Idempotency-Key still
   * names the place.
   */
  placed(ticket: string | undefined): void {
    this.#mayHold = true;
    if (ticket !== undefined) this.#ticket = ticket;
  }

  /** A waiting request was cut off before its answer: the gateway may have given it a place. */
  cutOff(): void {
    this.#mayHold = true;
  }

  /**
   * Gives the place up, if the gateway may keep one, best effort and within LEAVE_TIMEOUT_MS: a
   * gateway that cannot be reached leaves the place to lapse on its own. Resolves to what went
   * wrong, if anything; never rejects. A request that was refused outright (bad credentials, a
   * redirect) or never reached the gateway took no place, and nothing is sent.
   */
  async leave(): Promise<unknown> {
    if (!this.#mayHold) return undefined;
    try {
      await this.#client.leave(this.#lock, { ticket: this.#ticket, idempotencyKey: this.#idempotencyKey }, { timeoutMs: LEAVE_TIMEOUT_MS });
      this.#mayHold = false;
      return undefined;
    } catch (err) {
      // A gateway without a queue has no such route, and then no place to give up either.
      if (err instanceof NotFoundError && err.code === "not_found") return undefined;
      return err;
    }
  }
}
