import type { LockEventContext } from "../http/app-env.ts";
import type { Logger } from "../http/errors.ts";
import { EventApiError, type KubeEventApi } from "../kube/events/event-api.ts";
import { type KubeEvent, microTime } from "../kube/events/kube-event.ts";
import type { LockEvent } from "../locks/lock-events.ts";
import type { DropCounter } from "../metrics/drop-counter.ts";
import { describeLockEvent, type EventDescription } from "./lock-event-description.ts";
import { eventName } from "./event-name.ts";
import { TokenBucket } from "./token-bucket.ts";

export const REPORTING_CONTROLLER = "leasegate";
/** The annotation that keeps an Event's facts for the history route. */
export const RECORD_ANNOTATION = "leasegate.io/event";

/** A similar event this long after the last one still extends its series (client-go's own window). */
export const SERIES_WINDOW_MS = 6 * 60_000;
/** Repeats within this time are written as one series update. */
export const SERIES_COALESCE_MS = 1_000;
/** A series update waits at most this long for the rate bound; later repeats try again. */
const SERIES_MAX_WAIT_MS = 10_000;
/** Writes in flight at once; beyond them a new Event is dropped rather than queued. */
export const MAX_WRITES_IN_FLIGHT = 32;
/** Open series remembered; the least recently started are forgotten first. */
const MAX_SERIES = 1_000;

export interface LockHistoryOptions {
  events: Pick<KubeEventApi, "create" | "patchSeries" | "leaseUid">;
  namespace: string;
  /** The Events' `reportingInstance`: which gateway replica saw it. */
  reportingInstance: string;
  maxEventsPerSecond: number;
  burst: number;
  /** Told of each write; what it returns is awaited (kept alive) before the work ends. */
  written: (write: "created" | "series") => unknown;
  drops: DropCounter;
  log?: Logger;
  /** Monotonic milliseconds. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Series {
  name: string;
  /** Occurrences seen, and how many of them the apiserver has. */
  count: number;
  written: number;
  lastAt: Date;
  lastSeenMs: number;
  /** A create or series update is under way; it writes every later repeat before it ends. */
  busy: boolean;
  failed: boolean;
}

/**
 * Writes each lock event as an `events.k8s.io/v1` Event about the lock's Lease, off the request
 * path: the work starts after the answer has gone out and runs under the request's `background`
 * (a Worker's waitUntil), and nothing in it can delay, fail or change a lock answer.
 *
 * Bounded: a token bucket limits new Events per second, at most MAX_WRITES_IN_FLIGHT writes run
 * at once, and an event that finds neither a token nor room is dropped and counted. A similar
 * event (same lock, reason and holder) within SERIES_WINDOW_MS extends the earlier Event's
 * `series` instead, as client-go's event recorder does; repeats close together become one update.
 *
 * On Workers, each piece of work runs in the request that started it: a series update in flight
 * writes the repeats that arrive meanwhile itself, so no request waits on another's promise.
 */
export class LockHistoryRecorder {
  readonly #options: LockHistoryOptions;
  readonly #bucket: TokenBucket;
  readonly #series = new Map<string, Series>();
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #told = new Set<string>();
  #inFlight = 0;

  constructor(options: LockHistoryOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#bucket = new TokenBucket(options.maxEventsPerSecond, options.burst, this.#now);
  }

  /** A lock-event sink (AppDeps.onLockEvents): returns at once and never throws. */
  readonly sink = (events: readonly LockEvent[], context: LockEventContext): void => {
    try {
      // A macrotask later: on Node the answer has been handed to the socket by then.
      context.background(this.#sleep(0).then(() => this.#recordAll(events, context)));
    } catch {
      for (const _ of events) this.#drop("failed");
    }
  };

  async #recordAll(events: readonly LockEvent[], context: LockEventContext): Promise<void> {
    const reports: unknown[] = [];
    for (const event of events) {
      try {
        reports.push(this.#record(event, context));
      } catch (err) {
        reports.push(this.#drop("failed", err));
      }
    }
    await settled(reports);
  }

  /** Starts what the event needs; returns the report of a drop, if it was dropped. */
  #record(event: LockEvent, context: LockEventContext): unknown {
    const description = describeLockEvent(event, context.caller);
    const now = this.#now();
    const open = this.#series.get(description.seriesKey);
    if (open && !open.failed && now - open.lastSeenMs <= SERIES_WINDOW_MS) {
      open.count++;
      open.lastAt = event.at;
      open.lastSeenMs = now;
      if (!open.busy) {
        open.busy = true;
        context.background(this.#flush(description.seriesKey, open));
      }
      return;
    }
    if (this.#inFlight >= MAX_WRITES_IN_FLIGHT) return this.#drop("backlog");
    if (!this.#bucket.take()) return this.#drop("rate_limited");
    const series: Series = { name: eventName(event.lock, event.at), count: 1, written: 0, lastAt: event.at, lastSeenMs: now, busy: true, failed: false };
    this.#remember(description.seriesKey, series);
    context.background(this.#create(description.seriesKey, series, event, description));
  }

  async #create(key: string, series: Series, event: LockEvent, description: EventDescription): Promise<void> {
    const { events, namespace } = this.#options;
    this.#inFlight++;
    try {
      // Without the UID `kubectl describe lease` would not show the Event; `kubectl events --for` still would.
      const uid = await events.leaseUid(namespace, event.lock).catch(() => undefined);
      await events.create(namespace, this.#eventOf(series.name, event, description, uid));
      series.written = 1;
      await settled([this.#report(() => this.#options.written("created"))]);
    } catch (err) {
      await this.#fail(key, series, err, "create");
      series.busy = false;
      return;
    } finally {
      this.#inFlight--;
    }
    await this.#flush(key, series);
  }

  /** Writes the series' count until it stands still; runs in the request that set `busy`. */
  async #flush(key: string, series: Series): Promise<void> {
    try {
      while (!series.failed && series.count > series.written) {
        await this.#sleep(SERIES_COALESCE_MS);
        if (!(await this.#bucket.takeWithin(SERIES_MAX_WAIT_MS, this.#sleep))) return;
        const count = series.count;
        this.#inFlight++;
        try {
          await this.#options.events.patchSeries(this.#options.namespace, series.name, { count, lastObservedTime: microTime(series.lastAt) });
          series.written = count;
          await settled([this.#report(() => this.#options.written("series"))]);
        } catch (err) {
          await this.#fail(key, series, err, "patch");
        } finally {
          this.#inFlight--;
        }
      }
    } finally {
      series.busy = false;
    }
  }

  #eventOf(name: string, event: LockEvent, description: EventDescription, uid: string | undefined): KubeEvent {
    const { namespace, reportingInstance } = this.#options;
    return {
      metadata: { name, namespace, annotations: { [RECORD_ANNOTATION]: JSON.stringify(description.record) } },
      eventTime: microTime(event.at),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance,
      action: description.action,
      reason: description.reason,
      type: description.type,
      note: description.note,
      regarding: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: event.lock, namespace, ...(uid && { uid }) },
    };
  }

  /** Every occurrence the apiserver does not have is dropped; the series is closed, so the next one starts afresh. */
  async #fail(key: string, series: Series, err: unknown, write: "create" | "patch"): Promise<void> {
    series.failed = true;
    if (this.#series.get(key) === series) this.#series.delete(key);
    const reason = dropReasonOf(err, write);
    const reports: unknown[] = [];
    for (let i = series.written; i < series.count; i++) reports.push(this.#drop(reason, err));
    await settled(reports);
  }

  #remember(key: string, series: Series): void {
    this.#series.delete(key);
    this.#series.set(key, series);
    if (this.#series.size > MAX_SERIES) this.#series.delete(this.#series.keys().next().value!);
  }

  /** Counts a drop; returns the counter's answer, to be kept alive. */
  #drop(reason: string, err?: unknown): unknown {
    const report = this.#report(() => this.#options.drops.dropped(reason));
    try {
      // Once per reason: an operator needs to hear of it, not once per event.
      if (!this.#told.has(reason)) {
        this.#told.add(reason);
        this.#options.log?.({
          level: "warn",
          msg: "lock history Events are being dropped",
          reason,
          detail: err instanceof Error ? err.message : undefined,
          ...(reason === "forbidden" && { hint: `the gateway's identity needs create and patch on events.events.k8s.io in namespace ${this.#options.namespace} (infra/k8s/role.yaml)` }),
        });
      }
    } catch {
      // Telling of a drop never fails anything either.
    }
    return report;
  }

  /** Runs a metrics callback that must not fail the recording. */
  #report(callback: () => unknown): unknown {
    try {
      return callback();
    } catch {
      return undefined;
    }
  }
}

/** Waits for whichever of these are promises; their failures are not the history's concern. */
async function settled(reports: unknown[]): Promise<void> {
  await Promise.all(reports.map((report) => (report instanceof Promise ? report.catch(() => {}) : undefined)));
}

function dropReasonOf(err: unknown, write: "create" | "patch"): string {
  if (!(err instanceof EventApiError)) return "failed";
  switch (err.reason) {
    case "forbidden":
      return "forbidden";
    case "unavailable":
      return "unavailable";
    case "not_found":
      // A series' Event can outlive its welcome (the apiserver's event TTL); a create's namespace cannot.
      return write === "patch" ? "expired" : "rejected";
    default:
      return "rejected";
  }
}
