/**
 * The JSON API's lock state, read defensively into what the page shows. Fields the API may not
 * have yet (a fair queue, waiter counts, semaphore slots) are optional: the page shows them as
 * soon as the API answers them, and nothing in their place before.
 */
export interface LockView {
  name: string;
  /** `held`, `expired` or `free`; anything else is shown as it is. */
  status: string;
  holder?: string;
  holderIdentity?: string;
  subject?: string;
  issuer?: string;
  fencingToken?: string;
  acquiredAt?: string;
  renewedAt?: string;
  expiresAt?: string;
  ttlSeconds?: number;
  transitions?: number;
  metadata: Array<[key: string, value: string]>;
  forcedRelease?: { by: string; issuer?: string; at?: string };
  /** How many callers wait in line (list items). */
  waiters?: number;
  /** A semaphore's number of slots. */
  maxHolders?: number;
  /** A semaphore's current holders. */
  holders?: HolderView[];
  /** The line, first in line first (one lock's state). */
  queue?: QueueEntryView[];
}

export interface HolderView {
  holder?: string;
  holderIdentity?: string;
  subject?: string;
  fencingToken?: string;
  acquiredAt?: string;
  renewedAt?: string;
  expiresAt?: string;
}

export interface QueueEntryView {
  position?: number;
  holder?: string;
  holderIdentity?: string;
  subject?: string;
  waitingSince?: string;
  expiresAt?: string;
}

type Json = Record<string, unknown>;

export function lockView(value: unknown): LockView | null {
  const body = record(value);
  const name = text(body?.name);
  if (!body || name === undefined) return null;
  const forced = record(body.forcedRelease);
  const forcedBy = text(forced?.by);
  return {
    name,
    status: text(body.status) ?? "unknown",
    holder: text(body.holder),
    holderIdentity: text(body.holderIdentity),
    subject: text(body.subject),
    issuer: text(body.issuer),
    fencingToken: text(body.fencingToken),
    acquiredAt: instant(body.acquiredAt),
    renewedAt: instant(body.renewedAt),
    expiresAt: instant(body.expiresAt),
    ttlSeconds: count(body.ttlSeconds),
    transitions: count(body.transitions),
    metadata: Object.entries(record(body.metadata) ?? {}).flatMap(([key, v]) => (typeof v === "string" ? [[key, v] as [string, string]] : [])),
    forcedRelease: forcedBy === undefined ? undefined : { by: forcedBy, issuer: text(forced?.issuer), at: instant(forced?.at) },
    waiters: count(body.waiters),
    maxHolders: count(body.maxHolders),
    holders: list(body.holders, holderView),
    queue: list(body.queue, queueEntryView),
  };
}

function holderView(body: Json): HolderView {
  return {
    holder: text(body.holder),
    holderIdentity: text(body.holderIdentity),
    subject: text(body.subject),
    fencingToken: text(body.fencingToken),
    acquiredAt: instant(body.acquiredAt),
    renewedAt: instant(body.renewedAt),
    expiresAt: instant(body.expiresAt),
  };
}

function queueEntryView(body: Json): QueueEntryView {
  return {
    position: count(body.position),
    holder: text(body.holder),
    holderIdentity: text(body.holderIdentity),
    subject: text(body.subject),
    waitingSince: instant(body.waitingSince),
    expiresAt: instant(body.expiresAt),
  };
}

function record(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** An ISO timestamp the page can count from; anything else is left out rather than shown as "Invalid Date". */
function instant(value: unknown): string | undefined {
  return typeof value === "string" && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : undefined;
}

function list<T>(value: unknown, read: (body: Json) => T): T[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.flatMap((element) => {
    const body = record(element);
    return body ? [read(body)] : [];
  });
}
