/**
 * The status page reads and acts only through the JSON API, in-process and with the viewer's own
 * credential: it shows exactly what `GET /locks` and `GET /locks/{name}` answer that viewer,
 * under the same policy, and picks up every field those answers gain without changes here.
 */

/** What the JSON API answered when it did not answer 2xx. */
export interface ApiProblem {
  status: number;
  code: string;
  detail?: string;
  /** `invalid_request` names the rule a parameter broke. */
  errors?: Array<{ path?: string; message?: string }>;
  /** `backend_unavailable` says when to try again. */
  retryAfterSeconds?: number;
}

export type ApiResult<T> = ({ ok: true; value: T } | { ok: false; problem: ApiProblem }) & {
  /** Kubernetes requests the calls cost, as the API's `Server-Timing` said. */
  kubeRequests: number;
};

export interface LockListing {
  items: unknown[];
  /** False when more locks exist than one refresh reads (see MAX_PAGES). */
  complete: boolean;
}

/** The most locks one list request asks for (the API's own maximum). */
const PAGE_SIZE = 500;
/**
 * One refresh reads at most this many pages, so one viewer costs a bounded number of apiserver
 * LISTs per refresh however many Leases the namespace holds; the page says when it stopped early.
 */
const MAX_PAGES = 4;

type Fetch = (request: Request) => Response | Promise<Response>;

export class LockApi {
  readonly #fetch: Fetch;
  readonly #authorization: string;

  /** `fetch` serves the JSON API (the app itself); `authorization` is the viewer's. */
  constructor(fetch: Fetch, authorization: string) {
    this.#fetch = fetch;
    this.#authorization = authorization;
  }

  async list(prefix: string): Promise<ApiResult<LockListing>> {
    const items: unknown[] = [];
    let kubeRequests = 0;
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (prefix !== "") query.set("prefix", prefix);
      if (cursor !== undefined) query.set("continue", cursor);
      const answer = await this.#call("GET", `/locks?${query}`);
      kubeRequests += answer.kubeRequests;
      if (!answer.ok) return { ok: false, problem: answer.problem, kubeRequests };
      const body = answer.value as { items?: unknown; continue?: unknown };
      if (Array.isArray(body.items)) items.push(...body.items);
      cursor = typeof body.continue === "string" ? body.continue : undefined;
      if (cursor === undefined) return { ok: true, value: { items, complete: true }, kubeRequests };
    }
    return { ok: true, value: { items, complete: false }, kubeRequests };
  }

  state(name: string): Promise<ApiResult<unknown>> {
    return this.#call("GET", `/locks/${encodeURIComponent(name)}`);
  }

  forceRelease(name: string): Promise<ApiResult<unknown>> {
    return this.#call("DELETE", `/locks/${encodeURIComponent(name)}`);
  }

  async #call(method: string, path: string): Promise<ApiResult<unknown>> {
    const response = await this.#fetch(new Request(`http://leasegate.internal${path}`, { method, headers: { authorization: this.#authorization } }));
    const kubeRequests = kubeRequestCount(response.headers.get("server-timing"));
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (response.ok) return { ok: true, value: body, kubeRequests };
    return {
      ok: false,
      problem: {
        status: response.status,
        code: typeof body.code === "string" ? body.code : "internal",
        detail: typeof body.detail === "string" ? body.detail : undefined,
        errors: Array.isArray(body.errors) ? (body.errors as ApiProblem["errors"]) : undefined,
        retryAfterSeconds: /^\d+$/.test(response.headers.get("retry-after") ?? "") ? Number(response.headers.get("retry-after")) : undefined,
      },
      kubeRequests,
    };
  }
}

/** Reads `kube;desc="N requests"`; a response without it (refused before any store call) cost none. */
export function kubeRequestCount(serverTiming: string | null): number {
  const match = /kube;desc="(\d+) requests"/.exec(serverTiming ?? "");
  return match ? Number(match[1]) : 0;
}
