import { Glob } from "../auth/glob.ts";
import type { LockEvent } from "../locks/lock-events.ts";
import type { WebhookEndpointConfig } from "./webhook-config.ts";
import type { WebhookEventType } from "./webhook-payload.ts";
import { WebhookSigner } from "./webhook-signature.ts";

/**
 * One configured receiver at run time: which events it wants, how it signs, and how many of its
 * messages are under way (in flight or waiting to be retried), which is what `maxQueued` bounds.
 */
export class WebhookEndpoint {
  readonly config: WebhookEndpointConfig;
  readonly signer: WebhookSigner;
  readonly #types: ReadonlySet<WebhookEventType> | null;
  readonly #locks: Glob[];
  #queued = 0;
  #overflowing = false;

  constructor(config: WebhookEndpointConfig, secrets: Uint8Array<ArrayBuffer>[]) {
    this.config = config;
    this.signer = new WebhookSigner(secrets);
    this.#types = config.events ? new Set(config.events) : null;
    this.#locks = config.locks.map((pattern) => new Glob(pattern));
  }

  get name(): string {
    return this.config.name;
  }

  wants(event: LockEvent): boolean {
    return (this.#types === null || this.#types.has(`lock.${event.kind}`)) && this.#locks.some((glob) => glob.matches(event.lock));
  }

  /**
   * Takes a message if there is room. `startedOverflowing` is true for the first refusal after
   * a time with room, so that a full queue is reported once, not once per dropped message.
   */
  admit(): { admitted: true } | { admitted: false; startedOverflowing: boolean } {
    if (this.#queued >= this.config.maxQueued) {
      const startedOverflowing = !this.#overflowing;
      this.#overflowing = true;
      return { admitted: false, startedOverflowing };
    }
    this.#queued++;
    return { admitted: true };
  }

  /** A message is done with, delivered or not. */
  settle(): void {
    this.#queued--;
    if (this.#queued === 0) this.#overflowing = false;
  }

  get queued(): number {
    return this.#queued;
  }
}
