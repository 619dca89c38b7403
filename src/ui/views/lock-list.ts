import type { Caller } from "../../auth/caller.ts";
import { holdsOf, isSemaphore } from "../holds.ts";
import type { HolderView, LockView } from "../lock-view.ts";
import { html, type Html } from "./html.ts";
import { countdown, forceReleaseButton, holderText, instant, lockHref, statusBadge } from "./parts.ts";

export interface LockListData {
  viewer: Caller;
  serverNow: Date;
  prefix: string;
  locks: LockView[];
  /** False when more Leases exist than one refresh reads. */
  complete: boolean;
  canForceRelease(name: string): boolean;
}

/** The part of the lock list page the script replaces on each update. */
export function lockListFragment(data: LockListData): Html {
  const { locks } = data;
  const showWaiting = locks.some((lock) => lock.waiters !== undefined);
  const releasable = (lock: LockView) => lock.status !== "free" && data.canForceRelease(lock.name);
  const showActions = locks.some(releasable);
  const counts = (status: string) => locks.filter((lock) => lock.status === status).length;
  return html`<div class="fragment" data-server-now="${data.serverNow.toISOString()}">
${viewerLine(data.viewer)}
${
  locks.length === 0
    ? html`<p class="empty">No locks${data.prefix === "" ? "" : html` whose name starts with <code>${data.prefix}</code>`} that you may read.</p>`
    : html`<p class="summary">${plural(locks.length, "lock")}: ${counts("held")} held, ${counts("expired")} expired, ${counts("free")} free.</p>
<table class="locks">
<caption class="visually-hidden">Locks, their holders and when their holds end</caption>
<thead><tr><th scope="col">Lock</th><th scope="col">Status</th><th scope="col">Holder</th><th scope="col">Fencing token</th><th scope="col">Acquired · renewed</th><th scope="col">Expires</th>${showWaiting ? html`<th scope="col">Waiting</th>` : ""}${showActions ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : ""}</tr></thead>
<tbody>
${locks.map((lock) => {
  const holds = holdsOf(lock);
  const each = (cell: (hold: HolderView) => Html) => (holds.length === 0 ? html`<span class="none">—</span>` : holds.map((hold, index) => html`${index > 0 ? html`<hr class="between-holds">` : ""}${cell(hold)}`));
  return html`<tr data-lock="${lock.name}" class="lock-${lock.status}">
<th scope="row" data-label="Lock"><a href="${lockHref(lock.name)}">${lock.name}</a></th>
<td data-label="Status">${statusBadge(lock.status)}${slots(lock)}</td>
<td data-label="Holder">${each((hold) => holderText(hold))}</td>
<td data-label="Fencing token">${each((hold) => (hold.fencingToken === undefined ? html`<span class="none">—</span>` : html`<code>${hold.fencingToken}</code>`))}</td>
<td data-label="Acquired · renewed">${each((hold) => html`${instant(hold.acquiredAt)}<br>${instant(hold.renewedAt)}`)}</td>
<td data-label="Expires">${each((hold) => countdown(hold.expiresAt))}</td>
${showWaiting ? html`<td data-label="Waiting">${lock.waiters ?? 0}</td>` : ""}
${showActions ? html`<td data-label="">${releasable(lock) ? forceReleaseButton(lock) : ""}</td>` : ""}
</tr>`;
})}
</tbody>
</table>`
}
${data.complete ? "" : html`<p class="notice">More Leases exist than one update reads; only the first ones are shown. Narrow the name prefix to see the rest.</p>`}
</div>`;
}

export function viewerLine(viewer: Caller): Html {
  return html`<p class="viewer">Signed in as <strong>${viewer.subject}</strong> <span class="issuer">(${viewer.issuer})</span></p>`;
}

/** A semaphore's slots in use; a lock with one slot says nothing about slots. */
export function slots(lock: LockView): Html | string {
  if (!isSemaphore(lock)) return "";
  return html`<span class="slots">${holdsOf(lock).length} of ${plural(lock.maxHolders!, "slot")} in use</span>`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
