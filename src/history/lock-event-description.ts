import type { Caller } from "../auth/caller.ts";
import type { LockEvent, LockEventKind } from "../locks/lock-events.ts";

/** How a lock event reads as a Kubernetes Event. */
export interface EventDescription {
  reason: string;
  action: string;
  type: "Normal" | "Warning";
  /** At most NOTE_MAX_BYTES of UTF-8, as the apiserver demands. Never a lock token. */
  note: string;
  /** What the history route gives back besides the note (stored as an annotation of the Event). */
  record: HistoryRecord;
  /**
   * Similar events share it: the same lock, reason and holder (and actor, and replaced holder).
   * Fencing tokens, durations and positions are left out, so a holder that does the same thing
   * again and again makes one Event with a growing series rather than a flood.
   */
  seriesKey: string;
}

/** The facts of one event, without the lock name and time (the Event has those). */
export interface HistoryRecord {
  kind: LockEventKind;
  holderIdentity?: string;
  holder?: string;
  subject?: string;
  issuer?: string;
  fencingToken?: string;
  heldSeconds?: number;
  waitedSeconds?: number;
  previousHolder?: string;
  by?: { subject: string; issuer?: string };
  position?: number;
}

export const NOTE_MAX_BYTES = 1024;
/** Caller-chosen text is shortened to this many characters in a note, so every part fits. */
const TEXT_MAX_CHARS = 120;

const WORDS: Record<LockEventKind, Pick<EventDescription, "reason" | "action" | "type">> = {
  acquired: { reason: "Acquired", action: "Acquire", type: "Normal" },
  taken_over: { reason: "TakenOver", action: "Acquire", type: "Warning" },
  released: { reason: "Released", action: "Release", type: "Normal" },
  force_released: { reason: "ForceReleased", action: "ForceRelease", type: "Warning" },
  lost: { reason: "Lost", action: "Renew", type: "Warning" },
  queue_joined: { reason: "QueueJoined", action: "JoinQueue", type: "Normal" },
  queue_left: { reason: "QueueLeft", action: "LeaveQueue", type: "Normal" },
};

/**
 * A lock event as an Event: a reason and action Kubernetes users can filter on, and a note for
 * `kubectl events` and `kubectl describe lease` naming the holder's label, subject and issuer,
 * the fencing token and the durations. Holder labels and subjects were refused at the door if
 * they held control or bidirectional formatting characters; here they are quoted (JSON string
 * syntax) so that where they start and end is plain in a terminal.
 */
export function describeLockEvent(event: LockEvent, caller: Pick<Caller, "subject" | "issuer"> | undefined): EventDescription {
  // A lost renewal (and a release, unless of a semaphore's hold) knows only the grant: who
  // renewed or released is the request's caller.
  const askedByCaller = event.kind === "lost" || (event.kind === "released" && event.subject === undefined);
  const by = event.by ?? (askedByCaller && caller ? { subject: caller.subject, issuer: caller.issuer } : undefined);
  const record: HistoryRecord = dropUndefined({
    kind: event.kind,
    holderIdentity: event.holderIdentity,
    holder: event.label,
    subject: event.subject,
    issuer: event.issuer,
    fencingToken: event.fencingToken,
    heldSeconds: event.heldSeconds,
    waitedSeconds: event.waitedSeconds,
    previousHolder: event.previousHolder,
    by,
    position: event.position,
  });
  return {
    ...WORDS[event.kind],
    note: fitNote(noteOf(record)),
    record,
    seriesKey: JSON.stringify([event.lock, event.kind, record.holderIdentity, record.holder, record.subject, record.issuer, record.previousHolder, by?.subject, by?.issuer]),
  };
}

function noteOf(r: HistoryRecord): string {
  const holder = who(r.holder, r.subject, r.issuer) ?? (r.holderIdentity !== undefined ? `holder ${quote(r.holderIdentity)}` : "an unknown holder");
  const token = r.fencingToken !== undefined ? `fencing token ${r.fencingToken}` : "no fencing token";
  const waited = r.waitedSeconds !== undefined ? `, after waiting ${duration(r.waitedSeconds)} in line` : "";
  const actor = r.by ? who(undefined, r.by.subject, r.by.issuer)! : "an unknown caller";
  switch (r.kind) {
    case "acquired":
      return `Granted to ${holder}: ${token}${waited}.`;
    case "taken_over":
      return `Taken over by ${holder}: ${token}${waited}; the expired hold of ${quote(r.previousHolder ?? "")} had lasted ${duration(r.heldSeconds)}.`;
    case "released":
      return `Released by ${holder}${r.by ? ` at the request of ${actor}` : ""}: ${token}, held ${duration(r.heldSeconds)}.`;
    case "force_released":
      return `Force-released by ${actor}: ended the hold of ${quote(r.previousHolder ?? "")} (${token}) after ${duration(r.heldSeconds)}.`;
    case "lost":
      return `Lost by ${holder}: ${token} had been released, taken over or force-released when ${actor} tried to renew it.`;
    case "queue_joined":
      return `${capitalize(holder)} joined the line at position ${r.position ?? "?"}.`;
    case "queue_left":
      return `${capitalize(holder)} left the line.`;
  }
}

function who(label: string | undefined, subject: string | undefined, issuer: string | undefined): string | undefined {
  const parts = [
    label !== undefined && `holder ${quote(label)}`,
    subject !== undefined && `subject ${quote(subject)}`,
    issuer !== undefined && `issuer ${quote(issuer)}`,
  ].filter((part): part is string => typeof part === "string");
  return parts.length > 0 ? parts.join(", ") : undefined;
}

function quote(text: string): string {
  const chars = Array.from(text);
  return JSON.stringify(chars.length > TEXT_MAX_CHARS ? `${chars.slice(0, TEXT_MAX_CHARS - 1).join("")}…` : text);
}

function duration(seconds: number | undefined): string {
  return seconds === undefined ? "an unknown time" : `${seconds.toFixed(1)} s`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const encoder = new TextEncoder();

/** Cut to NOTE_MAX_BYTES of UTF-8 at a character boundary, ending in "…" when cut. */
export function fitNote(note: string): string {
  if (encoder.encode(note).length <= NOTE_MAX_BYTES) return note;
  let bytes = 3; // the ellipsis
  let kept = "";
  for (const char of note) {
    const size = encoder.encode(char).length;
    if (bytes + size > NOTE_MAX_BYTES) break;
    bytes += size;
    kept += char;
  }
  return `${kept}…`;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
