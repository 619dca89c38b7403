import type { Caller } from "../../auth/caller.ts";
import { holdsOf, isSemaphore } from "../holds.ts";
import type { HolderView, LockView } from "../lock-view.ts";
import { html, type Html } from "./html.ts";
import { slots, viewerLine } from "./lock-list.ts";
import { countdown, elapsed, forceReleaseButton, holderText, instant, statusBadge, utcText } from "./parts.ts";

export interface LockDetailData {
  viewer: Caller;
  serverNow: Date;
  lock: LockView;
  canForceRelease: boolean;
}

/** The part of a lock's page the script replaces on each update. */
export function lockDetailFragment({ viewer, serverNow, lock, canForceRelease }: LockDetailData): Html {
  const holding = lock.status !== "free";
  const semaphore = isSemaphore(lock);
  return html`<div class="fragment" data-server-now="${serverNow.toISOString()}">
${viewerLine(viewer)}
<dl class="facts">
<div><dt>Status</dt><dd>${statusBadge(lock.status)}${slots(lock)}</dd></div>
${holding && !semaphore ? holdFacts(lock) : ""}
<div><dt>TTL</dt><dd>${lock.ttlSeconds === undefined ? "—" : `${lock.ttlSeconds} s`}</dd></div>
<div><dt>Transitions</dt><dd>${lock.transitions ?? "—"}</dd></div>
${lock.forcedRelease ? html`<div><dt>Last forced release</dt><dd>by <span class="subject">${lock.forcedRelease.by}</span>${lock.forcedRelease.at ? html` at ${instant(lock.forcedRelease.at)}` : ""}</dd></div>` : ""}
</dl>
${holding && canForceRelease ? html`<p class="actions">${forceReleaseButton(lock)}</p>` : ""}
${holding && !semaphore && lock.metadata.length > 0 ? metadataTable(lock.metadata) : ""}
${semaphore ? holdersTable(holdsOf(lock)) : ""}
${lock.queue === undefined ? "" : queueTable(lock.queue)}
${/* The lock's recent history (events) goes here, below the queue, once the API serves it. */ ""}
</div>`;
}

function holdFacts(lock: LockView): Html {
  return html`<div><dt>Holder</dt><dd>${holderText(lock)}</dd></div>
${lock.holderIdentity !== undefined ? html`<div><dt>Holder identity</dt><dd><code>${lock.holderIdentity}</code></dd></div>` : ""}
${lock.issuer !== undefined ? html`<div><dt>Issuer</dt><dd><code>${lock.issuer}</code></dd></div>` : ""}
<div><dt>Fencing token</dt><dd>${lock.fencingToken !== undefined ? html`<code>${lock.fencingToken}</code>` : "—"}</dd></div>
<div><dt>Acquired</dt><dd>${instant(lock.acquiredAt)}</dd></div>
<div><dt>Renewed</dt><dd>${instant(lock.renewedAt)}</dd></div>
<div><dt>Expires</dt><dd>${countdown(lock.expiresAt)}${lock.expiresAt ? html` <span class="at">(${utcText(lock.expiresAt)})</span>` : ""}</dd></div>`;
}

function metadataTable(metadata: LockView["metadata"]): Html {
  return html`<section aria-labelledby="metadata-title"><h2 id="metadata-title">Metadata</h2>
<table class="metadata"><thead><tr><th scope="col">Key</th><th scope="col">Value</th></tr></thead><tbody>
${metadata.map(([key, value]) => html`<tr><th scope="row"><code>${key}</code></th><td>${value}</td></tr>`)}
</tbody></table></section>`;
}

function holdersTable(holders: HolderView[]): Html {
  return html`<section aria-labelledby="holders-title"><h2 id="holders-title">Holders</h2>
${
  holders.length === 0
    ? html`<p class="empty">No slot is taken.</p>`
    : html`<table class="holders"><thead><tr><th scope="col">Holder</th><th scope="col">Fencing token</th><th scope="col">Acquired</th><th scope="col">Expires</th></tr></thead><tbody>
${holders.map(
  (h) => html`<tr><td data-label="Holder">${holderText(h)}</td><td data-label="Fencing token">${h.fencingToken !== undefined ? html`<code>${h.fencingToken}</code>` : "—"}</td><td data-label="Acquired">${instant(h.acquiredAt)}</td><td data-label="Expires">${countdown(h.expiresAt)}</td></tr>`,
)}
</tbody></table>`
}</section>`;
}

function queueTable(queue: NonNullable<LockView["queue"]>): Html {
  return html`<section aria-labelledby="queue-title"><h2 id="queue-title">Queue</h2>
${
  queue.length === 0
    ? html`<p class="empty">Nobody is waiting.</p>`
    : html`<table class="queue"><thead><tr><th scope="col">Position</th><th scope="col">Waiter</th><th scope="col">Waiting</th><th scope="col">Place kept</th></tr></thead><tbody>
${queue.map(
  (entry, index) => html`<tr><td data-label="Position">${entry.position ?? index + 1}</td><td data-label="Waiter">${holderText(entry)}</td><td data-label="Waiting">${elapsed(entry.waitingSince)}</td><td data-label="Place kept">${countdown(entry.expiresAt)}</td></tr>`,
)}
</tbody></table>`
}</section>`;
}
