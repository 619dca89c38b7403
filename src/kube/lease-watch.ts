import { ApiserverError } from "./apiserver-error.ts";
import type { ApiserverAnswer, ApiserverTransport } from "./apiserver-transport.ts";
import { isExpiredRevision } from "./kube-errors.ts";
import type { LeaseWatchEnd, LeaseWatchParam } from "./lease-api.ts";
import { leasesPath } from "./lease-paths.ts";

/**
 * How long the apiserver keeps one watch open. A waiter that needs longer watches again after a
 * read, which also bounds how long a connection a proxy silently dropped can hold a waiter.
 */
export const WATCH_TIMEOUT_SECONDS = 60;

/** Longer than any watch event for one Lease; a longer line is not an event of this watch. */
const MAX_EVENT_CHARS = 1024 * 1024;

/**
 * The watch of one Lease, sent through the transport the Lease calls use: the same server,
 * credentials and connections, on Node and in a Worker alike. Only Web APIs read the stream.
 *
 * `timeoutMs` bounds the wait for the answer's headers; the stream itself is bounded by the
 * apiserver's `timeoutSeconds` (plus that much again, for an apiserver that does not keep it).
 */
export function leaseWatch(transport: ApiserverTransport, timeoutMs: number): (param: LeaseWatchParam) => Promise<LeaseWatchEnd> {
  const watchFrom = watchOnce(transport, timeoutMs);
  return async (param) => {
    const end = await watchFrom(param, param.resourceVersion);
    if (end !== "expired") return end;
    // etcd no longer keeps that revision: a Lease nobody wrote for longer than its compaction
    // interval (a long hold that renews rarely). Watching from "now" instead begins with the
    // Lease's current state, which tells whether it is still at that revision, then goes on.
    return watchFrom(param, undefined);
  };
}

function watchOnce(transport: ApiserverTransport, timeoutMs: number) {
  return async ({ namespace, name, resourceVersion: unchangedAt, signal }: LeaseWatchParam, resourceVersion: string | undefined): Promise<LeaseWatchEnd> => {
    if (signal.aborted) return "aborted";
    const query = new URLSearchParams({
      watch: "1",
      fieldSelector: `metadata.name=${name}`,
      allowWatchBookmarks: "true",
      timeoutSeconds: String(WATCH_TIMEOUT_SECONDS),
    });
    if (resourceVersion !== undefined) query.set("resourceVersion", resourceVersion);
    const path = `${leasesPath(namespace)}?${query}`;

    const deadline = new AbortController();
    const expire = (after: number) => setTimeout(() => deadline.abort(new DOMException("the watch timed out", "TimeoutError")), after);
    let timer = expire(timeoutMs);
    try {
      let response: ApiserverAnswer;
      try {
        response = await transport(path, { method: "GET", headers: { accept: "application/json" }, signal: AbortSignal.any([signal, deadline.signal]) });
      } catch (err) {
        if (signal.aborted) return "aborted";
        throw err;
      }
      clearTimeout(timer);
      timer = expire(2 * WATCH_TIMEOUT_SECONDS * 1000);
      if (response.status !== 200) {
        const body = await response.text().catch(() => "");
        if (signal.aborted) return "aborted";
        const refusal = new ApiserverError(response.status, body, "a watch of leases");
        if (isExpiredRevision(refusal)) return "expired";
        throw refusal;
      }
      return response.body ? await firstChange(response.body, signal, unchangedAt) : "ended";
    } finally {
      clearTimeout(timer);
      // Closes the connection if anything is still open, whichever way the watch ended.
      deadline.abort();
    }
  };
}

/**
 * Reads watch events, one JSON object a line, until the first that is not a BOOKMARK, nor the
 * Lease still at `unchangedAt` (how a watch without a revision starts).
 */
async function firstChange(stream: ReadableStream<Uint8Array>, signal: AbortSignal, unchangedAt: string): Promise<LeaseWatchEnd> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return "ended";
      pending += decoder.decode(value, { stream: true });
      for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (!line) continue;
        const end = eventEnd(line, unchangedAt);
        if (end) return end;
      }
      if (pending.length > MAX_EVENT_CHARS) return "ended";
    }
  } catch {
    // The watch was running: a broken stream only means the store can no longer tell.
    return signal.aborted ? "aborted" : "ended";
  } finally {
    // Cancelling the body is what releases the connection (and, in a Worker, the subrequest).
    reader.cancel().catch(() => {});
  }
}

/** What one watch event means for the waiter, or undefined for a BOOKMARK (the watch goes on). */
function eventEnd(line: string, unchangedAt: string): LeaseWatchEnd | undefined {
  let event: { type?: unknown; object?: { metadata?: { resourceVersion?: unknown } } };
  try {
    event = JSON.parse(line) as typeof event;
  } catch {
    return "ended";
  }
  switch (event.type) {
    case "BOOKMARK":
      return undefined;
    case "ADDED":
      return event.object?.metadata?.resourceVersion === unchangedAt ? undefined : "changed";
    case "MODIFIED":
    case "DELETED":
      return "changed";
    case "ERROR":
      return isExpiredRevision(event.object) ? "expired" : "ended";
    default:
      return "ended";
  }
}
