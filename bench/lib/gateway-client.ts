/** A lock client for the gateway's HTTP API, one cached JWT per client, keep-alive fetch. */

export interface GatewayAnswer {
  status: number;
  /** Kubernetes requests the gateway says the call cost (Server-Timing). */
  kubeRequests: number | undefined;
  retryAfterSeconds: number | undefined;
  body: Record<string, unknown>;
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

  async #post(path: string, body: unknown): Promise<GatewayAnswer> {
    const res = await this.#fetch(`${this.url}${path}`, {
      method: "POST",
      headers: { authorization: this.#authorization, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
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
    };
  }

  acquire(name: string, ttlSeconds: number): Promise<GatewayAnswer> {
    return this.#post(`/locks/${name}/acquire`, { ttlSeconds });
  }

  renew(name: string, token: string): Promise<GatewayAnswer> {
    return this.#post(`/locks/${name}/renew`, { token });
  }

  release(name: string, token: string): Promise<GatewayAnswer> {
    return this.#post(`/locks/${name}/release`, { token });
  }
}

/** Throws with the gateway's problem document when an answer is not the expected status. */
export function expectStatus(answer: GatewayAnswer, status: number, what: string): GatewayAnswer {
  if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer;
}
