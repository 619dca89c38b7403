/** A lock client for the gateway's HTTP API, one cached JWT per client, keep-alive fetch. */

export interface GatewayAnswer {
  status: number;
  /** Kubernetes requests the gateway says the call cost (Server-Timing). */
  kubeRequests: number | undefined;
  retryAfterSeconds: number | undefined;
  body: Record<string, unknown>;
  /** When the whole answer had arrived (performance.now()). */
  receivedAt: number;
}

/** A waiting acquire: one request of a series that keeps one place in the lock's line. */
export interface WaitingAcquire {
  ttlSeconds: number;
  waitSeconds: number;
  /** Names the attempt series: the same key keeps the same place in line and replays its grant. */
  idempotencyKey: string;
  /** Ends the request early (the gateway stops waiting when the caller hangs up). */
  signal?: AbortSignal;
}

export type Fetcher = (input: string, init: RequestInit) => Promise<Response>;

export class GatewayClient {
  readonly url: string;
  readonly #authorization: string;
  readonly #fetch: Fetcher;

  /** `fetcher` defaults to the global (keep-alive) fetch; an in-process app's `request` also fits. */
  constructor(url: string, jwt: string, fetcher: Fetcher = (input, init) => fetch(input, init)) {
    this.url = url;
    this.#authorization = `Bearer ${jwt}`;
    this.#fetch = fetcher;
  }

  async #post(path: string, body: unknown, options: { idempotencyKey?: string; signal?: AbortSignal } = {}): Promise<GatewayAnswer> {
    const res = await this.#fetch(`${this.url}${path}`, {
      method: "POST",
      headers: {
        authorization: this.#authorization,
        "content-type": "application/json",
        ...(options.idempotencyKey === undefined ? {} : { "idempotency-key": options.idempotencyKey }),
      },
      body: JSON.stringify(body),
      signal: options.signal,
    });
    return answerOf(res);
  }

  acquire(name: string, ttlSeconds: number): Promise<GatewayAnswer> {
    return this.#post(`/locks/${name}/acquire`, { ttlSeconds });
  }

  /** With `waitSeconds` the gateway answers when the lock is granted or the wait ends (409 `lock_held`, Retry-After 0). */
  acquireWaiting(name: string, request: WaitingAcquire): Promise<GatewayAnswer> {
    return this.#post(
      `/locks/${name}/acquire`,
      { ttlSeconds: request.ttlSeconds, waitSeconds: request.waitSeconds },
      { idempotencyKey: request.idempotencyKey, signal: request.signal },
    );
  }

  /** Once, without waiting, with a series' key: its grant if one landed (a replay), else 409. */
  acquireOnce(name: string, ttlSeconds: number, idempotencyKey: string): Promise<GatewayAnswer> {
    return this.#post(`/locks/${name}/acquire`, { ttlSeconds }, { idempotencyKey });
  }

  /** Gives up the place in line the key names. */
  leave(name: string, idempotencyKey: string): Promise<GatewayAnswer> {
    return this.#post(`/locks/${name}/leave`, {}, { idempotencyKey });
  }

  /** The lock's state, with `waiters`: how many callers are in its line. */
  async state(name: string): Promise<GatewayAnswer> {
    return answerOf(await this.#fetch(`${this.url}/locks/${name}`, { method: "GET", headers: { authorization: this.#authorization } }));
  }

  renew(name: string, token: string): Promise<GatewayAnswer> {
    return this.#post(`/locks/${name}/renew`, { token });
  }

  release(name: string, token: string): Promise<GatewayAnswer> {
    return this.#post(`/locks/${name}/release`, { token });
  }
}

async function answerOf(res: Response): Promise<GatewayAnswer> {
  const text = await res.text();
  const receivedAt = performance.now();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { raw: text };
  }
  const timing = /kube;desc="(\d+) requests"/.exec(res.headers.get("server-timing") ?? "");
  const retryAfter = res.headers.get("retry-after");
  return {
    status: res.status,
    kubeRequests: timing ? Number(timing[1]) : undefined,
    retryAfterSeconds: retryAfter === null ? undefined : Number(retryAfter),
    body: parsed,
    receivedAt,
  };
}

/** Throws with the gateway's problem document when an answer is not the expected status. */
export function expectStatus(answer: GatewayAnswer, status: number, what: string): GatewayAnswer {
  if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer;
}
