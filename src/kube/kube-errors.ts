import { StoreError } from "../locks/lock-store.ts";

/**
 * The only place that reads apiserver errors. ApiserverError carries the response body as raw
 * text; the Kubernetes Status inside it tells AlreadyExists (a create lost the race) from
 * Conflict (a stale resourceVersion), which share the 409 status code.
 */
interface KubeStatus {
  kind?: string;
  reason?: string;
  message?: string;
  details?: { kind?: string; name?: string; causes?: unknown[] };
}

export type Verb = "get" | "create" | "patch" | "delete" | "list" | "watch";

/** Verbs whose request may have stored something even when no answer came back. */
const WRITES: ReadonlySet<Verb> = new Set(["create", "patch", "delete"]);

/**
 * A 403 the apiserver gave while it could not yet judge permissions (see refusal-triage.ts). A
 * 403 is decided before the request reaches storage, so nothing was written.
 */
export class TransientRefusal extends Error {
  /** Why the refusal is believed transient, for the operator: a clause that follows "refused (403)". */
  readonly circumstance: string;
  constructor(circumstance: string, refusal: unknown) {
    super(`transient 403: ${circumstance}`, { cause: refusal });
    this.name = "TransientRefusal";
    this.circumstance = circumstance;
  }
}

/** The apiserver refused the request (403): RBAC, or an admission plugin, said no before anything was stored. */
export function isRefusal(err: unknown): boolean {
  return apiStatusCode(err) === 403;
}

/**
 * The apiserver answered with a Kubernetes Status that only a request past authorization can get
 * (the object is missing, conflicts or is invalid): the identity holds the permission it used.
 * Checking the Status body keeps a proxy's or tunnel's own 404 from counting.
 */
export function passedAuthorization(err: unknown): boolean {
  const code = apiStatusCode(err);
  if (code !== 404 && code !== 409 && code !== 410 && code !== 422) return false;
  return parseStatus((err as { body?: unknown }).body)?.kind === "Status";
}

/**
 * The revision asked for is older than etcd keeps history for (410 Gone), either as the answer to
 * a watch request or as the Status of a watch's ERROR event: a re-read is the only way on.
 */
export function isExpiredRevision(errOrStatus: unknown): boolean {
  return apiStatusCode(errOrStatus) === 410;
}

export function toStoreError(err: unknown, verb: Verb, namespace: string): StoreError {
  const isWrite = WRITES.has(verb);
  if (err instanceof TransientRefusal) {
    // Never `unknown_outcome`, even for a write: a refused request was not stored.
    return new StoreError("unavailable", `the Kubernetes API is not ready: it refused to ${verb} leases (403) ${err.circumstance}`, {
      cause: err,
    });
  }
  const code = apiStatusCode(err);
  if (code === undefined) {
    // No HTTP answer: a timeout, a refused or reset connection. A write may still have landed.
    const what = isAbort(err) ? "timed out" : "could not be reached";
    return new StoreError(isWrite ? "unknown_outcome" : "unavailable", `the Kubernetes API ${what} (${verb} leases)`, {
      cause: err,
    });
  }
  const status = parseStatus((err as { body?: unknown }).body);
  switch (code) {
    case 404:
      return new StoreError("not_found", "lease not found", { cause: err });
    case 409:
      return status?.reason === "AlreadyExists"
        ? new StoreError("already_exists", "lease already exists", { cause: err })
        : new StoreError("conflict", "lease changed since it was read", { cause: err });
    case 422:
      // A failed JSON Patch `test` comes back as a bare 422 Invalid, without field causes (an
      // invalid object would list them). The lock service re-reads to tell the two apart.
      if (verb === "patch" && status?.reason === "Invalid" && !status.details?.causes?.length) {
        return new StoreError("precondition_failed", "lease is no longer held under this token", { cause: err });
      }
      return new StoreError("invalid_response", `the Kubernetes API refused the lease as invalid: ${status?.message ?? "no detail"}`, {
        cause: err,
      });
    case 401:
      return new StoreError("forbidden", "the Kubernetes API rejected the gateway's credentials (401): check its token or client certificate", {
        cause: err,
      });
    case 403:
      return new StoreError(
        "forbidden",
        `the gateway's Kubernetes identity may not ${verb} coordination.k8s.io/leases in namespace "${namespace}": grant it the Role in infra/k8s/`,
        { cause: err, detail: status?.message },
      );
    case 410:
      // The continue token of a list outlived etcd's compaction window.
      if (verb === "list") return new StoreError("cursor_expired", "the list continuation has expired", { cause: err });
      return new StoreError("invalid_response", `the Kubernetes API answered 410 to ${verb}`, { cause: err, detail: status?.message });
    case 429:
      return new StoreError("unavailable", "the Kubernetes API is throttling requests (429)", { cause: err });
    default:
      if (code >= 500) {
        // 500 and 504 can come after the write reached etcd; only a re-read can tell.
        return new StoreError(isWrite ? "unknown_outcome" : "unavailable", `the Kubernetes API answered ${code}`, { cause: err });
      }
      return new StoreError("invalid_response", `the Kubernetes API answered ${code} to ${verb}`, { cause: err, detail: status?.message });
  }
}

function apiStatusCode(err: unknown): number | undefined {
  if (err && typeof err === "object" && "code" in err && typeof (err as { code: unknown }).code === "number") {
    const code = (err as { code: number }).code;
    if (code >= 100 && code <= 599) return code;
  }
  return undefined;
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError");
}

export function parseStatus(body: unknown): KubeStatus | undefined {
  if (typeof body === "object" && body !== null) return body as KubeStatus;
  if (typeof body !== "string") return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === "object" && parsed !== null ? (parsed as KubeStatus) : undefined;
  } catch {
    return undefined;
  }
}
