import { holdsFingerprint, holdsOf } from "../holds.ts";
import type { LockView } from "../lock-view.ts";
import { html, type Html } from "./html.ts";

/** Meaning carried by words and a shape, with colour only as a third cue. */
const STATUS: Record<string, { symbol: string; label: string }> = {
  held: { symbol: "●", label: "Held" },
  expired: { symbol: "◐", label: "Expired" },
  free: { symbol: "○", label: "Free" },
};

export function statusBadge(status: string): Html {
  const known = STATUS[status];
  const kind = known ? status : "unknown";
  return html`<span class="status status-${kind}"><span class="status-symbol" aria-hidden="true">${known?.symbol ?? "?"}</span> ${known?.label ?? status}</span>`;
}

/** `2026-11-30 17:48:33 UTC`: the same for every viewer, whatever its time zone. */
export function utcText(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** An instant; written in UTC on the server, its `datetime` is what the script reads. */
export function instant(iso: string | undefined): Html {
  if (iso === undefined) return html`<span class="none">—</span>`;
  return html`<time datetime="${iso}">${utcText(iso)}</time>`;
}

/** Time left until `iso`, counted down each second by the page's script (which also writes it). */
export function countdown(iso: string | undefined): Html {
  if (iso === undefined) return html`<span class="none">—</span>`;
  return html`<time class="countdown" datetime="${iso}" data-countdown-to="${iso}" title="${utcText(iso)}">${utcText(iso)}</time>`;
}

/** Time since `iso`, counted up each second by the page's script. */
export function elapsed(iso: string | undefined): Html {
  if (iso === undefined) return html`<span class="none">—</span>`;
  return html`<time class="elapsed" datetime="${iso}" data-elapsed-since="${iso}" title="since ${utcText(iso)}">since ${utcText(iso)}</time>`;
}

/**
 * Who holds: the holder's label and subject for a leasegate grant, the Lease's holderIdentity
 * for any other Lease client.
 */
export function holderText(holder: { holder?: string; subject?: string; holderIdentity?: string }): Html {
  if (holder.subject !== undefined) {
    return html`<span class="holder">${holder.holder ?? "(no label)"}</span> <span class="subject">${holder.subject}</span>`;
  }
  if (holder.holderIdentity !== undefined) {
    return html`<span class="holder">${holder.holderIdentity}</span> <span class="subject">another Lease client</span>`;
  }
  return html`<span class="none">—</span>`;
}

/**
 * The only way to force-release from the page: opens a confirmation that names the holders and
 * their fencing tokens, and carries the fingerprint of those holds for the gateway to check.
 */
export function forceReleaseButton(lock: LockView): Html {
  const holds = holdsOf(lock);
  const holders = holds.map((hold) => hold.holderIdentity ?? "an unknown holder").join(", ");
  const tokens = holds.flatMap((hold) => (hold.fencingToken === undefined ? [] : [hold.fencingToken])).join(", ");
  return html`<button type="button" class="danger" id="force-release-${lock.name}" data-force-release="${lock.name}" data-holder="${holders}" data-fencing-token="${tokens}" data-holds="${holdsFingerprint(lock)}">Force release<span class="visually-hidden"> ${lock.name}</span></button>`;
}

export function lockHref(name: string): string {
  return `/ui/locks/${encodeURIComponent(name)}`;
}
