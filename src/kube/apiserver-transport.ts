/**
 * How a request reaches the apiserver, with the server, credentials and TLS of one configuration
 * applied: the Worker's and Node's `fetch` with a bearer token, or a kubeconfig on Node. `path`
 * starts with `/` and may carry a query. Everything the gateway sends to Kubernetes (Lease calls,
 * watches, `/readyz`, Events) goes through one of these, so each is sent, measured and
 * authenticated the same way.
 */
export type ApiserverTransport = (path: string, init: ApiserverRequestInit) => Promise<ApiserverAnswer>;

/**
 * The apiserver's answer, as much of a Web `Response` as the gateway reads: a `fetch` Response is
 * one, and Node's undici transport makes the stream only for a watch, which reads it.
 */
export interface ApiserverAnswer {
  readonly status: number;
  text(): Promise<string>;
  readonly body: ReadableStream<Uint8Array> | null;
}

export interface ApiserverRequestInit {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers: Record<string, string>;
  /** JSON text, already escaped as Go writes it (see go-json-escaping.ts). */
  body?: string;
  signal: AbortSignal;
}
