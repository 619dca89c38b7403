import type { Credentials } from "./credentials.ts";
import { configError } from "./errors.ts";
import { networkCause } from "./network-cause.ts";

/** A grant as the gateway returns it (`GrantSchema`). `token` is secret. */
export interface Grant {
  name: string;
  namespace: string;
  lease: string;
  holder?: string;
  subject: string;
  token: string;
  fencingToken: string;
  acquiredAt: string;
  renewedAt: string;
  expiresAt: string;
  ttlSeconds: number;
  transitions: number;
  metadata: Record<string, string>;
}

/** A lock's state (`LockStateSchema`): no secrets. */
export interface LockState {
  name: string;
  namespace: string;
  status: "held" | "expired" | "free";
  holder?: string;
  subject?: string;
  fencingToken?: string;
  acquiredAt?: string;
  renewedAt?: string;
  expiresAt?: string;
  ttlSeconds: number;
  transitions: number;
  metadata: Record<string, string>;
  forcedRelease?: { by: string; at: string };
  /** How many wait in line (absent from gateways without a queue). */
  waiters?: number;
  /** The line, first in line first. */
  queue?: Waiter[];
}

/** One place in a lock's line, as `GET /locks/:name` shows it: no secrets. */
export interface Waiter {
  position: number;
  holderIdentity: string;
  holder?: string;
  subject: string;
  waitingSince: string;
  expiresAt: string;
}

/** An RFC 9457 problem answered by the gateway (or a non-JSON error from something in front of it). */
export class GatewayError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail?: string;
  readonly retryAfterMs?: number;
  /**
   * Extra members: `holder`, `subject`, `expiresAt`, `position`, `waiters` and the secret `ticket`
   * on lock_held, `errors` on invalid_request.
   */
  readonly problem: Record<string, unknown>;
  constructor(status: number, problem: Record<string, unknown>, retryAfterMs: number | undefined) {
    const code = typeof problem.code === "string" ? problem.code : `http_${status}`;
    const title = typeof problem.title === "string" ? problem.title : `HTTP ${status}`;
    const detail = typeof problem.detail === "string" ? problem.detail : undefined;
    super(`${code}: ${detail ?? title}`);
    this.name = "GatewayError";
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.retryAfterMs = retryAfterMs;
    this.problem = problem;
  }

  /** Whether the body was the gateway's own problem document (not a proxy's error page). */
  get fromGateway(): boolean {
    return typeof this.problem.type === "string" && this.problem.type.startsWith("urn:leasegate:problem:");
  }
}

/** The request never got an HTTP answer: connection refused, DNS, TLS, timeout. */
export class UnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot reach the gateway at ${url}: ${networkCause(cause)}`, { cause });
    this.name = "UnreachableError";
  }
}

export interface ClientOptions {
  url: string;
  credentials: Credentials;
  /** Per request (default 15 s). */
  timeoutMs?: number;
  userAgent?: string;
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** The gateway's HTTP API, one method per route. */
export class GatewayClient {
  readonly url: string;
  readonly credentials: Credentials;
  readonly #timeoutMs: number;
  readonly #userAgent: string;

  constructor(options: ClientOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.credentials = options.credentials;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#userAgent = options.userAgent ?? "leasegate-cli";
  }

  /**
   * With `waitSeconds`, the caller waits in the lock's line: the gateway keeps the request open and
   * answers the moment the lock is granted to it (or 409 with its place when the wait ends); the
   * request's timeout grows by as much. `ticket` (from that 409) keeps the place.
   */
  acquire(
    name: string,
    body: { holder?: string; ttlSeconds?: number; metadata?: Record<string, string>; waitSeconds?: number; ticket?: string },
    options: { idempotencyKey?: string; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<Grant> {
    const headers = options.idempotencyKey ? { "idempotency-key": options.idempotencyKey } : undefined;
    const timeoutMs = (options.timeoutMs ?? this.#timeoutMs) + (body.waitSeconds ?? 0) * 1000;
    return this.#request<Grant>("POST", `/locks/${lockPath(name)}/acquire`, { body, headers, timeoutMs, signal: options.signal });
  }

  /**
   * Gives up a place in the lock's line, named by the `ticket` of the last 409 or by the
   * Idempotency-Key the waiting requests carried (both may be given).
   */
  leave(name: string, place: { ticket?: string; idempotencyKey?: string }, options: { timeoutMs?: number } = {}): Promise<{ left: boolean }> {
    const headers = place.idempotencyKey ? { "idempotency-key": place.idempotencyKey } : undefined;
    const body = place.ticket ? { ticket: place.ticket } : {};
    return this.#request("POST", `/locks/${lockPath(name)}/leave`, { body, headers, timeoutMs: options.timeoutMs });
  }

  renew(name: string, token: string, ttlSeconds?: number, options: { timeoutMs?: number } = {}): Promise<Grant> {
    return this.#request<Grant>("POST", `/locks/${lockPath(name)}/renew`, { body: { token, ttlSeconds }, timeoutMs: options.timeoutMs });
  }

  release(name: string, token: string, options: { timeoutMs?: number } = {}): Promise<{ released: boolean }> {
    return this.#request("POST", `/locks/${lockPath(name)}/release`, { body: { token }, timeoutMs: options.timeoutMs });
  }

  state(name: string): Promise<LockState> {
    return this.#request<LockState>("GET", `/locks/${lockPath(name)}`);
  }

  list(options: { prefix?: string; limit?: number; continueToken?: string } = {}): Promise<{ items: LockState[]; continue?: string }> {
    const query = new URLSearchParams();
    if (options.prefix) query.set("prefix", options.prefix);
    if (options.limit) query.set("limit", String(options.limit));
    if (options.continueToken) query.set("continue", options.continueToken);
    const qs = query.toString();
    return this.#request("GET", `/locks${qs ? `?${qs}` : ""}`);
  }

  async #request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const jwt = await this.credentials.token();
    const headers: Record<string, string> = {
      authorization: `Bearer ${jwt}`,
      accept: "application/json, application/problem+json",
      "user-agent": this.#userAgent,
      ...options.headers,
    };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const timeout = AbortSignal.timeout(Math.ceil(options.timeoutMs ?? this.#timeoutMs));
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
        // Followed, a redirect would hand the JWT and the lock token to another origin and
        // make the CLI trust its answer.
        redirect: "error",
      });
      text = await res.text();
    } catch (err) {
      if (isRedirectRefusal(err)) throw redirectError(this.url);
      throw new UnreachableError(this.url, err);
    }
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const problem = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
      throw new GatewayError(res.status, problem, retryAfterMs(res.headers.get("retry-after")));
    }
    if (!body || typeof body !== "object") {
      throw new GatewayError(502, { code: "invalid_response", title: "the gateway answered something that is not JSON" }, undefined);
    }
    return body as T;
  }
}

/** What fetch fails with when `redirect: "error"` meets a 3xx answer. */
function isRedirectRefusal(err: unknown): boolean {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && /redirect/i.test(cause.message);
}

/** A usage/configuration error (74): a redirect means the URL is not the gateway's own. */
function redirectError(url: string): Error {
  return configError(
    `the gateway at ${new URL(url).origin} answered with a redirect, which leasegate does not follow: set --url or LEASEGATE_URL to the gateway's own https:// address`,
  );
}

function lockPath(name: string): string {
  return encodeURIComponent(name);
}

/** Retry-After as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
