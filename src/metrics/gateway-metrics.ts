import type { LockEventContext } from "../http/app-env.ts";
import type { LockEvent } from "../locks/lock-events.ts";
import type { DropCounter, WebhookDropCounter } from "./drop-counter.ts";
import type { JwtRejection } from "./jwt-rejection.ts";
import type { LockPages } from "./lock-state-gauges.ts";

/** The lock API's operations, by route. */
export type LockOperation = "acquire" | "leave" | "renew" | "release" | "verify" | "state" | "force_release" | "list" | "history";

/**
 * What the gateway tells its metrics, whatever keeps them: Prometheus counters on Node, data
 * points in Workers Analytics Engine. Request calls are on the request path: they must be cheap
 * (no lock names, no per-request objects), return at once and never throw.
 */
export interface GatewayMetrics {
  requestStarted(): void;
  /**
   * Once per answered request. `route` is the matched route pattern (`/locks/:name/acquire`) or
   * `unmatched`; `operation` is set for the lock API; `outcome` is `ok` or why not (`held`,
   * `lost`, `forbidden`, `unauthenticated`, …); `jwtRejection` says why a token was refused.
   * What it returns, if anything, is work to keep alive after the answer (a Worker's waitUntil).
   */
  requestEnded(
    route: string,
    method: string,
    status: number,
    seconds: number,
    operation: LockOperation | undefined,
    outcome: string,
    jwtRejection: JwtRejection | undefined,
  ): void | Promise<unknown>;
  /** A lock-event sink: counts the kinds, hold times of ended grants and wait times of grants from the line. */
  lockEvents(events: readonly LockEvent[], context: LockEventContext): void;
  /** The history recorder wrote an Event (`created`) or extended one's series (`series`); may return work to keep alive. */
  historyWritten(write: "created" | "series"): void | Promise<unknown>;
  readonly historyDrops: DropCounter;
  /**
   * Metrics that show the locks' state as the cluster has it (held locks, waiters) are handed a
   * way to read it, used when they are read (a scrape), never on a request.
   */
  readLockStateWith?(pages: LockPages): void;
  /** For the webhook sender (its `onDropped`): messages given up on, by reason and endpoint name. */
  readonly webhookDrops: WebhookDropCounter;
}
