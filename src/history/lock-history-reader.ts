import { EventApiError, type KubeEventApi } from "../kube/events/event-api.ts";
import type { KubeEvent } from "../kube/events/kube-event.ts";
import type { ListCursors } from "../locks/list-cursor.ts";
import { LockError } from "../locks/lock-errors.ts";
import type { LockEventKind } from "../locks/lock-events.ts";
import type { HistoryRecord } from "./lock-event-description.ts";
import { RECORD_ANNOTATION, REPORTING_CONTROLLER } from "./lock-history-recorder.ts";

/** One entry of a lock's history: an Event, with its series folded in. */
export interface HistoryEntry extends Partial<Omit<HistoryRecord, "kind">> {
  kind?: LockEventKind;
  reason: string;
  action: string;
  type: string;
  note: string;
  /** When it (the first of a series) happened. */
  at: string;
  /** When the last of the series happened; `at` for a single event. */
  lastAt: string;
  /** How many similar events the entry stands for. */
  count: number;
  /** The gateway replica that recorded it. */
  reportingInstance?: string;
}

export interface HistoryPage {
  items: HistoryEntry[];
  continue?: string;
}

const KINDS: ReadonlySet<string> = new Set(["acquired", "taken_over", "released", "force_released", "lost", "queue_joined", "queue_left"]);

/**
 * A lock's history, newest first, a page at a time, read from the Events about its Lease that
 * leasegate wrote. Event names count down in time, so the apiserver's own name order is newest
 * first and a page costs one list request. The apiserver's continue value is handed out sealed
 * (ListCursors) for this lock alone: a forged or borrowed one never reaches the apiserver.
 */
export class LockHistoryReader {
  readonly #events: Pick<KubeEventApi, "list">;
  readonly #namespace: string;
  readonly #cursors: ListCursors;

  constructor(options: { events: Pick<KubeEventApi, "list">; namespace: string; cursors: ListCursors }) {
    this.#events = options.events;
    this.#namespace = options.namespace;
    this.#cursors = options.cursors;
  }

  async page(lock: string, limit: number, cursor: string | undefined): Promise<HistoryPage> {
    const scope = `history\n${this.#namespace}\n${lock}`;
    const continueToken = cursor === undefined ? undefined : await this.#cursors.open(cursor, scope);
    if (continueToken === null) throw new LockError("invalid_cursor", "is not a continue value this service issued for this lock's history: read it again without it");
    let page;
    try {
      page = await this.#events.list(this.#namespace, {
        fieldSelector: `regarding.kind=Lease,regarding.name=${lock},reportingController=${REPORTING_CONTROLLER}`,
        limit,
        continueToken,
      });
    } catch (err) {
      throw historyFailure(err, this.#namespace, continueToken !== undefined);
    }
    return {
      items: page.items.flatMap((event) => entryOf(event) ?? []),
      continue: page.continueToken === undefined ? undefined : await this.#cursors.seal(page.continueToken, scope),
    };
  }
}

function historyFailure(err: unknown, namespace: string, resumed: boolean): LockError {
  if (!(err instanceof EventApiError)) return new LockError("backend_invalid", "the lock's history could not be read", { cause: err });
  switch (err.reason) {
    case "forbidden":
      return new LockError("backend_forbidden", `the gateway's Kubernetes identity may not list events.events.k8s.io in namespace ${namespace}`, { cause: err });
    case "expired":
    case "invalid":
      if (!resumed) return new LockError("backend_invalid", "the Kubernetes API refused to list the lock's history", { cause: err });
      return new LockError("invalid_cursor", "is too old to resume from: read the history again without it", { cause: err });
    case "unavailable":
      return new LockError("backend_unavailable", "the Kubernetes API is unavailable", { retryAfterSeconds: 1, cause: err });
    default:
      return new LockError("backend_invalid", "the lock's history could not be read", { cause: err });
  }
}

/**
 * An Event as a history entry. Anyone allowed to create Events in the namespace could have
 * written one, so every field is checked before it is passed on; an Event without the basics is
 * left out.
 */
function entryOf(event: KubeEvent): HistoryEntry | undefined {
  const at = isoOf(event.eventTime);
  if (at === undefined || typeof event.reason !== "string" || typeof event.action !== "string") return undefined;
  const series = event.series;
  const count = typeof series?.count === "number" && series.count >= 2 ? series.count : 1;
  const lastAt = (count > 1 && isoOf(series?.lastObservedTime)) || at;
  return {
    ...recordOf(event.metadata?.annotations?.[RECORD_ANNOTATION]),
    reason: event.reason,
    action: event.action,
    type: typeof event.type === "string" ? event.type : "Normal",
    note: typeof event.note === "string" ? event.note : "",
    at,
    lastAt,
    count,
    ...(typeof event.reportingInstance === "string" && { reportingInstance: event.reportingInstance }),
  };
}

function recordOf(text: string | undefined): Partial<HistoryRecord> {
  if (typeof text !== "string") return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof raw !== "object" || raw === null) return {};
  const r = raw as Record<string, unknown>;
  const string = (key: string) => (typeof r[key] === "string" ? { [key]: r[key] as string } : {});
  const number = (key: string) => (typeof r[key] === "number" && Number.isFinite(r[key]) ? { [key]: r[key] as number } : {});
  const by = r.by as Record<string, unknown> | undefined;
  return {
    ...(typeof r.kind === "string" && KINDS.has(r.kind) && { kind: r.kind as LockEventKind }),
    ...string("holderIdentity"),
    ...string("holder"),
    ...string("subject"),
    ...string("issuer"),
    ...string("fencingToken"),
    ...number("heldSeconds"),
    ...number("waitedSeconds"),
    ...string("previousHolder"),
    ...number("position"),
    ...(typeof by === "object" && by !== null && typeof by.subject === "string" && {
      by: { subject: by.subject, ...(typeof by.issuer === "string" && { issuer: by.issuer }) },
    }),
  };
}

/** A MicroTime as an ISO timestamp in milliseconds, or undefined when it is not one. */
function isoOf(time: unknown): string | undefined {
  if (typeof time !== "string") return undefined;
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(time);
  if (!match) return undefined;
  const date = new Date(`${match[1]}.${(match[2] ?? "").padEnd(3, "0").slice(0, 3)}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
