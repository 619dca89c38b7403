import { lockNameProblem } from "../locks/lock-name.ts";
import type { AcquireRequest, Grant, Left, LockList, LockState, Released, Verified } from "./api-types.ts";
import { boundedText } from "./bounded-body.ts";
import { displayText } from "./display-text.ts";
import type { Credentials } from "./credentials.ts";
import { errorFromAnswer } from "./error-from-answer.ts";
import { GatewayUnreachableError, InvalidRequestError, InvalidResponseError, RedirectRefusedError } from "./errors.ts";
import { gatewayBaseUrl } from "./gateway-url.ts";
import { checkedIdempotencyKey } from "./idempotency-key.ts";
import { networkCause } from "./network-cause.ts";
import { requestSignal } from "./request-signal.ts";
import { retryAfterMs } from "./retry-after.ts";

export interface LeasegateClientOptions {
  /** The gateway's base URL: https://, or http:// for loopback only. */
  url: string;
  credentials: Credentials;
  /** Per request, in milliseconds (default 15 s); a waiting acquire gets its wait on top. */
  timeoutMs?: number;
  userAgent?: string;
  /**
   * The fetch to send requests with (default: the global one), e.g. a Worker's service binding
   * to the gateway (`env.LEASEGATE.fetch.bind(env.LEASEGATE)`).
   */
  fetch?: (request: Request) => Promise<Response>;
}

/** What every call takes: its own timeout, and a signal that abandons it. */
export interface CallOptions {
  timeoutMs?: number;
  /** Aborting it abandons the request; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface AcquireOptions extends CallOptions {
  /**
   * Names this acquisition: a retry with the same key (by the same identity) gets the grant that
   * is live under it instead of a refusal, and a waiting request keeps the place in line that the
   * key names. One key per logical job.
   */
  idempotencyKey?: string;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * The gateway's HTTP API, one method per route. Every method resolves to the gateway's answer or
 * rejects with a typed LeasegateError (errors.ts). Nothing is retried here; `withLock` and
 * `acquireWithinWait` build waiting, retries and renewal on top. Uses only fetch and WebCrypto,
 * so it runs on Node ≥ 20, in Cloudflare Workers, Deno and Bun.
 */
export class LeasegateClient {
  readonly url: string;
  readonly credentials: Credentials;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #fetch: (request: Request) => Promise<Response>;

  constructor(options: LeasegateClientOptions) {
    this.url = gatewayBaseUrl(options.url);
    this.credentials = options.credentials;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#userAgent = options.userAgent ?? "leasegate-client";
    this.#fetch = options.fetch ?? ((request) => fetch(request));
  }

  /**
   * One acquire request. With `waitSeconds`, the caller waits in the lock's line: the gateway
   * keeps the request open and answers the moment the lock is granted to it, or LockHeldError
   * (with `position`, `waiters` and the `ticket` that keeps the place, `retryAfterMs` 0) when the
   * wait ends. The request's timeout grows by the wait.
   */
  async acquire(name: string, body: AcquireRequest = {}, options: AcquireOptions = {}): Promise<Grant> {
    const headers = options.idempotencyKey === undefined ? undefined : { "idempotency-key": checkedIdempotencyKey(options.idempotencyKey) };
    const timeoutMs = (options.timeoutMs ?? this.#timeoutMs) + (body.waitSeconds ?? 0) * 1000;
    return checkedGrant(await this.#request<Grant>("POST", `${lockPath(name)}/acquire`, { body, headers, timeoutMs, signal: options.signal }));
  }

  /**
   * Gives up a place in the lock's line, named by the `ticket` of the last LockHeldError or by the
   * Idempotency-Key the waiting requests carried (both may be given).
   */
  async leave(name: string, place: { ticket?: string; idempotencyKey?: string }, options: CallOptions = {}): Promise<Left> {
    if (place.ticket === undefined && place.idempotencyKey === undefined) {
      throw new InvalidRequestError("name the place to give up: its ticket or its Idempotency-Key", { code: "invalid_request" });
    }
    const headers = place.idempotencyKey === undefined ? undefined : { "idempotency-key": checkedIdempotencyKey(place.idempotencyKey) };
    const body = place.ticket === undefined ? {} : { ticket: place.ticket };
    return this.#request("POST", `${lockPath(name)}/leave`, { body, headers, ...options });
  }

  /** Extends the grant `token` opens; the fencing token stays the same. LockLostError once it is over. */
  async renew(name: string, token: string, options: CallOptions & { ttlSeconds?: number } = {}): Promise<Grant> {
    const { ttlSeconds, ...call } = options;
    return checkedGrant(await this.#request<Grant>("POST", `${lockPath(name)}/renew`, { body: { token, ttlSeconds }, ...call }));
  }

  /**
   * Releases the grant `token` opens: `released` is false when it was already over (repeating is
   * harmless). LockLostError (`not_holder`) when another grant holds the lock now.
   */
  async release(name: string, token: string, options: CallOptions = {}): Promise<Released> {
    return this.#request("POST", `${lockPath(name)}/release`, { body: { token }, ...options });
  }

  /**
   * Whether the grant with this fencing token holds the lock now: true only at the moment of
   * asking (needs the `read` permission).
   */
  async verify(name: string, fencingToken: string, options: CallOptions = {}): Promise<Verified> {
    return this.#request("POST", `${lockPath(name)}/verify`, { body: { fencingToken }, ...options });
  }

  /** The lock's state, without secrets. LockNotFoundError for a lock never used. */
  async state(name: string, options: CallOptions = {}): Promise<LockState> {
    return this.#request<LockState>("GET", lockPath(name), options);
  }

  /** One page of the locks the caller may read; pass `continueToken: page.continue` for the next. */
  async list(query: { prefix?: string; limit?: number; continueToken?: string } = {}, options: CallOptions = {}): Promise<LockList> {
    const params = new URLSearchParams();
    if (query.prefix) params.set("prefix", query.prefix);
    if (query.limit) params.set("limit", String(query.limit));
    if (query.continueToken) params.set("continue", query.continueToken);
    const qs = params.toString();
    return this.#request("GET", `/locks${qs ? `?${qs}` : ""}`, options);
  }

  /** Ends whatever grant holds the lock (needs the `admin` permission); the actor is recorded. */
  async forceRelease(name: string, options: CallOptions = {}): Promise<Released> {
    return this.#request("DELETE", lockPath(name), options);
  }

  async #request<T>(
    method: string,
    path: string,
    options: CallOptions & { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<T> {
    options.signal?.throwIfAborted();
    const jwt = await this.credentials.token();
    const headers: Record<string, string> = {
      authorization: `Bearer ${jwt}`,
      accept: "application/json, application/problem+json",
      "user-agent": this.#userAgent,
      ...options.headers,
    };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const request = requestSignal(Math.ceil(options.timeoutMs ?? this.#timeoutMs), options.signal);
    let res: Response;
    let text: string | undefined;
    try {
      res = await this.#fetch(
        new Request(`${this.url}${path}`, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: request.signal,
          // Followed, a redirect would hand the JWT and the lock token to another origin and make
          // the client trust its answer. "manual" (not "error", which not every runtime has)
          // hands the 3xx back, or an opaque redirect where the runtime hides it.
          redirect: "manual",
        }),
      );
      if (res.type === "opaqueredirect" || (res.status >= 300 && res.status < 400)) {
        await res.body?.cancel();
        throw new RedirectRefusedError(new URL(this.url).origin, res.status);
      }
      text = await boundedText(res);
    } catch (err) {
      if (err instanceof RedirectRefusedError) throw err;
      if (options.signal?.aborted) throw options.signal.reason;
      throw new GatewayUnreachableError(`cannot reach the gateway at ${this.url}: ${networkCause(err)}`, { code: "unreachable", cause: err });
    } finally {
      request.done();
    }
    // An answer too long to be one of the gateway's (text undefined) is as unusable as one that is not JSON.
    let body: unknown;
    try {
      body = text === undefined ? undefined : text ? JSON.parse(text) : {};
    } catch {
      body = undefined;
    }
    if (!res.ok) throw errorFromAnswer(res.status, body, retryAfterMs(res.headers.get("retry-after")));
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new InvalidResponseError(`the gateway answered HTTP ${res.status} with something that is not a JSON object`, { status: res.status, code: "invalid_response" });
    }
    return body as T;
  }
}

/** `/locks/<name>`, for a name the gateway accepts; anything else is refused before a request. */
function lockPath(name: string): string {
  const problem = lockNameProblem(name);
  if (problem) throw new InvalidRequestError(`lock name "${displayText(name)}" ${problem}`, { code: "invalid_request" });
  return `/locks/${encodeURIComponent(name)}`;
}

/** A grant has what renewing and releasing it need; the rest is the gateway's to fill in. */
function checkedGrant(grant: Grant): Grant {
  const usable =
    typeof grant.token === "string" &&
    grant.token !== "" &&
    typeof grant.fencingToken === "string" &&
    typeof grant.ttlSeconds === "number" &&
    Number.isFinite(grant.ttlSeconds) &&
    grant.ttlSeconds > 0;
  if (!usable) throw new InvalidResponseError("the gateway answered with a grant that lacks its token, fencing token or TTL", { code: "invalid_response" });
  return grant;
}
