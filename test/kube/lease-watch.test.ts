import { describe, expect, it } from "vitest";
import { fetchLeaseApi } from "../../src/kube/fetch-lease-api.ts";
import type { LeaseWatchEnd } from "../../src/kube/lease-api.ts";
import { KubeLeaseStore } from "../../src/kube/lease-store.ts";
import { WATCH_TIMEOUT_SECONDS } from "../../src/kube/lease-watch.ts";
import { isStoreError } from "../../src/locks/lock-store.ts";

/**
 * The watch of one Lease over the fetch transport (Workers, and Node with `kubernetes.server`),
 * against a scripted apiserver that streams whatever each test writes. The same code reads the
 * stream on the kubeconfig transport; test/store runs both against the real apiserver.
 */
const NAMESPACE = "locks";
const encoder = new TextEncoder();

interface WatchRequest {
  url: URL;
  headers: Headers;
  signal: AbortSignal;
  /** Sends raw bytes of the watch stream. */
  send(text: string | Uint8Array): void;
  end(): void;
  /** Whether the client cancelled the body or aborted the request: the connection is released. */
  released(): boolean;
}

/**
 * An apiserver whose watch answers stay open until the test ends them. `answer` decides the
 * status and body of each request; by default a 200 stream.
 */
function scriptedWatches(answer?: (url: URL) => Response | Promise<Response> | "stream") {
  const requests: WatchRequest[] = [];
  let arrived: () => void = () => {};
  const fetch = async (input: string, init: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const signal = init.signal!;
    const scripted = answer?.(url) ?? "stream";
    if (scripted !== "stream") return scripted;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      cancel: () => {
        cancelled = true;
      },
    });
    // As a real fetch does: an abort breaks the body that is being read.
    signal.addEventListener("abort", () => controller.error(signal.reason), { once: true });
    requests.push({
      url,
      headers: new Headers(init.headers),
      signal,
      send: (text) => controller.enqueue(typeof text === "string" ? encoder.encode(text) : text),
      end: () => controller.close(),
      released: () => cancelled || signal.aborted,
    });
    arrived();
    return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
  };
  /** The first request not handed out yet (it may already have arrived). */
  let handedOut = 0;
  const nextRequest = async (): Promise<WatchRequest> => {
    while (requests.length <= handedOut) await new Promise<void>((resolve) => (arrived = resolve));
    return requests[handedOut++]!;
  };
  return { fetch, requests, nextRequest };
}

function apiOver(fetch: (input: string, init: RequestInit) => Promise<Response>, timeoutMs = 1_000) {
  return fetchLeaseApi({ server: "https://kube.example.test/", bearerToken: "sa-token", headers: { "cf-access-client-id": "client-id" }, timeoutMs, fetch });
}

/** A promise's outcome, or "pending" if it has none after `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([promise, new Promise<"pending">((resolve) => setTimeout(() => resolve("pending"), ms))]);
}

const event = (type: string, object: unknown = { kind: "Lease", metadata: { name: "deploy", resourceVersion: "8" } }) =>
  `${JSON.stringify({ type, object })}\n`;
const BOOKMARK = event("BOOKMARK", { kind: "Lease", metadata: { resourceVersion: "9" } });

describe("watching one Lease over fetch", () => {
  it("is one watch request for exactly that Lease from that revision, with the transport's credentials", async () => {
    const apiserver = scriptedWatches();
    const watching = apiOver(apiserver.fetch).watchLease({ namespace: NAMESPACE, name: "deploy.prod", resourceVersion: "7", signal: new AbortController().signal });
    const request = await apiserver.nextRequest();

    expect(request.url.origin + request.url.pathname).toBe(`https://kube.example.test/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`);
    expect(Object.fromEntries(request.url.searchParams)).toEqual({
      watch: "1",
      fieldSelector: "metadata.name=deploy.prod",
      resourceVersion: "7",
      allowWatchBookmarks: "true",
      timeoutSeconds: String(WATCH_TIMEOUT_SECONDS),
    });
    expect(request.headers.get("authorization")).toBe("Bearer sa-token");
    expect(request.headers.get("cf-access-client-id")).toBe("client-id");
    request.send(event("MODIFIED"));
    expect(await watching).toBe("changed");
    expect(apiserver.requests).toHaveLength(1);
  });

  it("waits through bookmarks and resolves on the first change, however the stream is cut into chunks", async () => {
    const apiserver = scriptedWatches();
    const watching = apiOver(apiserver.fetch).watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal: new AbortController().signal });
    const request = await apiserver.nextRequest();
    request.send(BOOKMARK);
    request.send(BOOKMARK.slice(0, 10));
    expect(await settledWithin(watching, 50)).toBe("pending");

    // A change whose holder name has a multi-byte character split between two chunks.
    const modified = encoder.encode(BOOKMARK.slice(10) + event("MODIFIED", { kind: "Lease", spec: { holderIdentity: "ci ✓" } }));
    const split = modified.length - 20;
    request.send(modified.slice(0, split));
    request.send(modified.slice(split));
    expect(await watching).toBe("changed");
    expect(request.released()).toBe(true);
  });

  it.each([
    ["its creation", event("ADDED"), "changed"],
    ["its deletion", event("DELETED"), "changed"],
    ["another watch error", event("ERROR", { kind: "Status", status: "Failure", reason: "InternalError", code: 500 }), "ended"],
    ["a line that is not an event", "<html>proxy error</html>\n", "ended"],
  ] as const)("resolves on %s", async (_, line, end: LeaseWatchEnd) => {
    const apiserver = scriptedWatches();
    const watching = apiOver(apiserver.fetch).watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal: new AbortController().signal });
    const request = await apiserver.nextRequest();
    request.send(line);
    expect(await watching).toBe(end);
    expect(request.released()).toBe(true);
  });

  it("watches on from the current state after an expired revision (ERROR 410) in the stream", async () => {
    const apiserver = scriptedWatches();
    const watching = apiOver(apiserver.fetch).watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal: new AbortController().signal });
    const first = await apiserver.nextRequest();
    const next = apiserver.nextRequest();
    first.send(event("ERROR", { kind: "Status", status: "Failure", reason: "Expired", code: 410 }));
    const second = await next;
    expect(first.released()).toBe(true);
    expect(second.url.searchParams.has("resourceVersion")).toBe(false);
    second.send(event("MODIFIED"));
    expect(await watching).toBe("changed");
  });

  it("resolves when the apiserver ends the stream without a change", async () => {
    const apiserver = scriptedWatches();
    const watching = apiOver(apiserver.fetch).watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal: new AbortController().signal });
    const request = await apiserver.nextRequest();
    request.send(BOOKMARK);
    request.end();
    expect(await watching).toBe("ended");
  });

  it("resolves on abort and releases the request", async () => {
    const apiserver = scriptedWatches();
    const caller = new AbortController();
    const watching = apiOver(apiserver.fetch).watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal: caller.signal });
    const request = await apiserver.nextRequest();
    request.send(BOOKMARK);
    expect(await settledWithin(watching, 50)).toBe("pending");
    caller.abort();
    expect(await watching).toBe("aborted");
    expect(request.released()).toBe(true);
  });

  it("resolves on an abort that comes before the apiserver answers, and sends nothing once aborted", async () => {
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const hanging = (_: string, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        seen = init.signal!;
        init.signal!.addEventListener("abort", () => reject(init.signal!.reason), { once: true });
      });
    const api = apiOver(hanging, 10_000);
    const watching = api.watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal: caller.signal });
    await new Promise((resolve) => setTimeout(resolve, 10));
    caller.abort();
    // Well before the request timeout could have ended it.
    expect(await settledWithin(watching, 1_000)).toBe("aborted");
    expect(seen?.aborted).toBe(true);

    let sent = 0;
    const counting = apiOver(async () => {
      sent++;
      return new Response("", { status: 200 });
    });
    expect(await counting.watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal: caller.signal })).toBe("aborted");
    expect(sent).toBe(0);
  });

  it("is not cut short by the request timeout once the stream is open", async () => {
    const apiserver = scriptedWatches();
    const watching = apiOver(apiserver.fetch, 30).watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal: new AbortController().signal });
    const request = await apiserver.nextRequest();
    expect(await settledWithin(watching, 150)).toBe("pending");
    request.send(event("MODIFIED"));
    expect(await watching).toBe("changed");
  });

  it("resolves 'expired' when the apiserver refuses the revision as too old (410 Gone)", async () => {
    const gone = JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "Expired", code: 410 });
    const api = apiOver(async () => new Response(gone, { status: 410, headers: { "content-type": "application/json" } }));
    expect(await api.watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal: new AbortController().signal })).toBe("expired");
  });

  it("watches on from the current state when the revision is too old, and ends only on a real change", async () => {
    // A Lease nobody wrote since etcd compacted its revision: the watch from it is refused.
    const gone = JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "Expired", code: 410 });
    const apiserver = scriptedWatches((url) =>
      url.searchParams.has("resourceVersion") ? new Response(gone, { status: 410, headers: { "content-type": "application/json" } }) : "stream",
    );
    const watching = apiOver(apiserver.fetch).watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal: new AbortController().signal });
    const request = await apiserver.nextRequest();
    expect(request.url.searchParams.has("resourceVersion")).toBe(false);
    // A watch from now begins with the Lease as it is: still at the revision read, so no change.
    request.send(event("ADDED", { kind: "Lease", metadata: { name: "deploy", resourceVersion: "7" } }));
    expect(await settledWithin(watching, 150)).toBe("pending");
    request.send(event("MODIFIED"));
    expect(await watching).toBe("changed");
  });

  it("ends at once when the Lease is no longer at the revision read, though that revision is too old to watch from", async () => {
    const gone = JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "Expired", code: 410 });
    const apiserver = scriptedWatches((url) =>
      url.searchParams.has("resourceVersion") ? new Response(gone, { status: 410, headers: { "content-type": "application/json" } }) : "stream",
    );
    const watching = apiOver(apiserver.fetch).watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal: new AbortController().signal });
    (await apiserver.nextRequest()).send(event("ADDED", { kind: "Lease", metadata: { name: "deploy", resourceVersion: "12" } }));
    expect(await watching).toBe("changed");
  });
});

describe("KubeLeaseStore.waitForChange over fetch", () => {
  const status = (code: number, reason: string) =>
    new Response(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason, code }), { status: code, headers: { "content-type": "application/json" } });
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => "resolved",
      (err: unknown) => (isStoreError(err) ? err.reason : String(err)),
    );
  const wait = (fetch: (input: string, init: RequestInit) => Promise<Response>, timeoutMs?: number) =>
    new KubeLeaseStore(apiOver(fetch, timeoutMs), NAMESPACE).waitForChange("deploy", "7", new AbortController().signal);

  it("resolves on a change", async () => {
    const apiserver = scriptedWatches();
    const waiting = wait(apiserver.fetch);
    (await apiserver.nextRequest()).send(event("MODIFIED"));
    expect(await waiting).toBeUndefined();
  });

  it("rejects 'forbidden' when the credentials are rejected (401)", async () => {
    expect(await failure(wait(async () => status(401, "Unauthorized")))).toBe("forbidden");
  });

  it("rejects 'forbidden' when a ready apiserver refuses the watch twice (403)", async () => {
    let watches = 0;
    const fetch = async (url: string) => {
      if (new URL(url).pathname === "/readyz") return new Response("ok", { status: 200 });
      watches++;
      return status(403, "Forbidden");
    };
    expect(await failure(wait(fetch))).toBe("forbidden");
    expect(watches).toBe(2);
  });

  it("rejects 'unavailable' when a warming-up apiserver refuses the watch (403, /readyz not ready)", async () => {
    const fetch = async (url: string) => (new URL(url).pathname === "/readyz" ? status(500, "InternalError") : status(403, "Forbidden"));
    expect(await failure(wait(fetch))).toBe("unavailable");
  });

  it("rejects 'unavailable' when the apiserver cannot be reached, or does not answer in time", async () => {
    expect(await failure(wait(async () => Promise.reject(new TypeError("fetch failed"))))).toBe("unavailable");
    const silent = (_: string, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init.signal!.addEventListener("abort", () => reject(init.signal!.reason), { once: true }));
    expect(await failure(wait(silent, 30))).toBe("unavailable");
  });

  it("rejects 'unavailable' when the apiserver answers the watch with a server error", async () => {
    expect(await failure(wait(async () => status(503, "ServiceUnavailable")))).toBe("unavailable");
  });
});
