import type { LockEventContext } from "../http/app-env.ts";
import type { LockEvent } from "../locks/lock-events.ts";
import type { DropCounter, WebhookDropCounter } from "./drop-counter.ts";
import type { GatewayMetrics, LockOperation } from "./gateway-metrics.ts";
import type { JwtRejection } from "./jwt-rejection.ts";

/** A Workers Analytics Engine dataset binding (`[[analytics_engine_datasets]]` in wrangler.toml). */
export interface AnalyticsEngineDataset {
  writeDataPoint(point: AnalyticsEngineDataPoint): unknown;
}

export interface AnalyticsEngineDataPoint {
  indexes: [string];
  blobs: string[];
  doubles: number[];
}

/**
 * Metrics on Workers. An isolate lives briefly and many serve at once, so counters kept in memory
 * and scraped would be fragments; instead every request, lock event and dropped history Event is
 * one data point, and Analytics Engine's SQL API adds them up. The index (the sampling key) is
 * the kind of point; blob1 repeats it. Layouts (docs/observability.md):
 *
 * - `request`:        blobs [request, route, method, status, operation, outcome, jwt rejection],
 *                     doubles [seconds, status]
 * - `lock_event`:     blobs [lock_event, kind], doubles [held seconds, waited seconds] (0 when absent)
 * - `history_dropped`: blobs [history_dropped, reason], doubles [1]
 * - `webhook_dropped`: blobs [webhook_dropped, reason, endpoint name], doubles [1]
 * - `history_written`: blobs [history_written, created|series], doubles [1]
 *
 * Like a Prometheus label, no blob holds a lock name, subject or issuer.
 */
export class AnalyticsEngineMetrics implements GatewayMetrics {
  readonly #dataset: AnalyticsEngineDataset;
  readonly historyDrops: DropCounter;
  readonly webhookDrops: WebhookDropCounter;

  constructor(dataset: AnalyticsEngineDataset) {
    this.#dataset = dataset;
    this.historyDrops = { dropped: (reason) => this.#write("history_dropped", [reason], [1]) };
    this.webhookDrops = { dropped: (reason, endpoint) => this.#write("webhook_dropped", [reason, endpoint], [1]) };
  }

  requestStarted(): void {}

  requestEnded(
    route: string,
    method: string,
    status: number,
    seconds: number,
    operation: LockOperation | undefined,
    outcome: string,
    jwtRejection: JwtRejection | undefined,
  ): Promise<unknown> | undefined {
    return this.#write("request", [route, method, String(status), operation ?? "", outcome, jwtRejection ?? ""], [seconds, status]);
  }

  lockEvents(events: readonly LockEvent[], context: LockEventContext): void {
    for (const event of events) {
      const written = this.#write("lock_event", [event.kind], [event.heldSeconds ?? 0, event.waitedSeconds ?? 0]);
      if (written) context.background(written);
    }
  }

  historyWritten(write: "created" | "series"): Promise<unknown> | undefined {
    return this.#write("history_written", [write], [1]);
  }

  /**
   * The binding's answer when it is a promise (a service binding standing in for the dataset),
   * for the caller to keep alive; Analytics Engine itself returns nothing and never blocks.
   */
  #write(kind: string, blobs: string[], doubles: number[]): Promise<unknown> | undefined {
    try {
      const answer = this.#dataset.writeDataPoint({ indexes: [kind], blobs: [kind, ...blobs], doubles });
      // An RPC answer is a thenable function (it can be pipelined), not a Promise.
      const thenable = (typeof answer === "object" || typeof answer === "function") && answer !== null && typeof (answer as PromiseLike<unknown>).then === "function";
      return thenable ? Promise.resolve(answer).catch(() => {}) : undefined;
    } catch {
      // Over the per-invocation limit of data points, say: the answer matters more.
      return undefined;
    }
  }
}
