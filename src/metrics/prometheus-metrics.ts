import type { LockEventContext } from "../http/app-env.ts";
import type { ApiserverRequestObserver } from "../kube/apiserver-request-observer.ts";
import type { LockEvent, LockEventKind } from "../locks/lock-events.ts";
import type { DropCounter, WebhookDropCounter } from "./drop-counter.ts";
import type { GatewayMetrics, LockOperation } from "./gateway-metrics.ts";
import { JWT_REJECTIONS, type JwtRejection } from "./jwt-rejection.ts";
import { type LockPages, registerLockStateGauges } from "./lock-state-gauges.ts";
import { Registry } from "./registry.ts";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const HOLD_BUCKETS = [0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];
const WAIT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

const EVENT_KINDS: readonly LockEventKind[] = ["acquired", "taken_over", "released", "force_released", "lost", "queue_joined", "queue_left"];
/** Events that end a hold; their `heldSeconds` is how long the ended hold lasted. */
const ENDINGS: ReadonlySet<LockEventKind> = new Set(["released", "taken_over", "force_released"]);
export const HISTORY_DROP_REASONS = ["rate_limited", "backlog", "forbidden", "unavailable", "rejected", "expired", "failed"] as const;

/**
 * The gateway's metrics in Prometheus' terms, with no label that names a lock, subject or issuer:
 * every label takes values from a closed set (routes, methods, statuses, operations, outcomes,
 * reasons), and each metric is capped in series besides.
 */
export class PrometheusMetrics implements GatewayMetrics {
  readonly registry = new Registry();

  readonly #requests = this.registry.counter({
    name: "leasegate_http_requests_total",
    help: "HTTP requests answered, by route pattern, method and status.",
    labelNames: ["route", "method", "status"],
  });
  readonly #requestSeconds = this.registry.histogram({
    name: "leasegate_http_request_duration_seconds",
    help: "Time from a request's arrival to its answer, by route pattern (a waiting acquire included).",
    labelNames: ["route"],
    buckets: LATENCY_BUCKETS,
  });
  readonly #inFlight = this.registry.gauge({ name: "leasegate_http_requests_in_flight", help: "Requests being answered now (waiting acquires included)." });
  readonly #operations = this.registry.counter({
    name: "leasegate_lock_operations_total",
    help: "Lock API operations by kind and outcome (ok, held, lost, not_holder, forbidden, unauthenticated, backend_unavailable, ...).",
    labelNames: ["operation", "outcome"],
  });
  readonly #jwtRejections = this.registry.counter({
    name: "leasegate_jwt_rejections_total",
    help: "Requests refused with 401, by why the bearer token was not accepted.",
    labelNames: ["reason"],
  });
  readonly #events = this.registry.counter({
    name: "leasegate_lock_events_total",
    help: "What happened to locks through this process: grants, takeovers, releases, force releases, lost renewals, queue joins and leaves.",
    labelNames: ["kind"],
  });
  readonly #held = this.registry.histogram({
    name: "leasegate_lock_hold_seconds",
    help: "How long grants held their lock, by how they ended (released, taken_over after expiry, force_released).",
    labelNames: ["ended_by"],
    buckets: HOLD_BUCKETS,
  });
  readonly #waited = this.registry.histogram({
    name: "leasegate_lock_wait_seconds",
    help: "How long grants from the line had waited in it.",
    buckets: WAIT_BUCKETS,
  });
  readonly #apiserverRequests = this.registry.counter({
    name: "leasegate_apiserver_requests_total",
    help: "Requests sent to the Kubernetes API, by resource, verb and HTTP status code (0: no answer).",
    labelNames: ["resource", "verb", "code"],
  });
  readonly #apiserverSeconds = this.registry.histogram({
    name: "leasegate_apiserver_request_duration_seconds",
    help: "Time until the Kubernetes API answered (for a watch: until its stream began), by resource and verb.",
    labelNames: ["resource", "verb"],
    buckets: LATENCY_BUCKETS,
  });
  readonly #historyWritten = this.registry.counter({
    name: "leasegate_history_events_written_total",
    help: "Kubernetes Events written for lock history: created, or an existing Event's series extended.",
    labelNames: ["write"],
  });
  readonly #historyDropped = this.registry.counter({
    name: "leasegate_history_events_dropped_total",
    help: "Lock history Events not written, by reason (rate_limited, backlog, forbidden, unavailable, rejected, expired, failed).",
    labelNames: ["reason"],
    maxSeries: 32,
  });
  readonly #webhooksDropped = this.registry.counter({
    name: "leasegate_webhooks_dropped_total",
    help: "Webhook messages given up on, by reason and endpoint name (from the configuration).",
    labelNames: ["reason", "endpoint"],
    maxSeries: 64,
  });

  readonly historyDrops: DropCounter = { dropped: (reason) => this.#historyDropped.labels(reason).inc() };
  readonly webhookDrops: WebhookDropCounter = { dropped: (reason, endpoint) => this.#webhooksDropped.labels(reason, endpoint).inc() };

  /** For ClusterAccess.observeRequests. */
  readonly apiserverRequest: ApiserverRequestObserver = (resource, verb, code, seconds) => {
    this.#apiserverRequests.labels(resource, verb, code).inc();
    this.#apiserverSeconds.labels(resource, verb).observe(seconds);
  };

  readonly #lockStateMaxAgeMs: number;

  constructor(options: { lockStateMaxAgeMs: number }) {
    this.#lockStateMaxAgeMs = options.lockStateMaxAgeMs;
    // Zeros from the start, so a rate() or an alert sees the series before the first increment.
    for (const reason of JWT_REJECTIONS) this.#jwtRejections.labels(reason);
    for (const kind of EVENT_KINDS) this.#events.labels(kind);
    for (const ending of ENDINGS) this.#held.labels(ending);
    for (const reason of HISTORY_DROP_REASONS) this.#historyDropped.labels(reason);
    this.#historyWritten.labels("created");
    this.#historyWritten.labels("series");
  }

  requestStarted(): void {
    this.#inFlight.labels().inc();
  }

  requestEnded(
    route: string,
    method: string,
    status: number,
    seconds: number,
    operation: LockOperation | undefined,
    outcome: string,
    jwtRejection: JwtRejection | undefined,
  ): void {
    this.#inFlight.labels().dec();
    this.#requests.labels(route, method, status).inc();
    this.#requestSeconds.labels(route).observe(seconds);
    if (operation !== undefined) this.#operations.labels(operation, outcome).inc();
    if (jwtRejection !== undefined) this.#jwtRejections.labels(jwtRejection).inc();
  }

  lockEvents(events: readonly LockEvent[], _context?: LockEventContext): void {
    for (const event of events) {
      this.#events.labels(event.kind).inc();
      if (event.heldSeconds !== undefined && ENDINGS.has(event.kind)) this.#held.labels(event.kind).observe(event.heldSeconds);
      if (event.waitedSeconds !== undefined) this.#waited.labels().observe(event.waitedSeconds);
    }
  }

  readLockStateWith(pages: LockPages): void {
    registerLockStateGauges(this.registry, pages, { maxAgeMs: this.#lockStateMaxAgeMs });
  }

  historyWritten(write: "created" | "series"): void {
    this.#historyWritten.labels(write).inc();
  }

  expose(): Promise<string> {
    return this.registry.expose();
  }
}
