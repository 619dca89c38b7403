import { Agent, type IncomingHttpHeaders, request } from "node:http";

/**
 * A raw HTTP/1.1 client for hostile requests: the request target goes out byte for byte (no URL
 * normalisation, unlike fetch), header values may carry Latin-1 bytes, bodies may be any bytes
 * and may be sent chunked, and any method Node's parser knows can be used.
 */
export interface RawRequest {
  method: string;
  /** The request target exactly as sent, e.g. `/locks/%2e%2e/acquire?x=1`. */
  path: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer;
  /** Send the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked?: boolean;
  /** Use a connection of its own, closed afterwards (for bodies the server may stop reading). */
  ownConnection?: boolean;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as JSON when it is JSON, else undefined. */
  json?: Record<string, unknown>;
}

export interface RawClient {
  send(req: RawRequest): Promise<RawResponse>;
  close(): void;
}

export function rawClient(baseUrl: string, options: { maxSockets?: number } = {}): RawClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 16 });

  const once = (req: RawRequest) =>
    new Promise<{ res?: RawResponse; error?: Error; reused: boolean }>((resolve) => {
      let reused = false;
      const headers: Record<string, string | string[]> = { ...req.headers };
      if (req.ownConnection) headers.connection = "close";
      const outgoing = request(
        {
          host: url.hostname,
          port: url.port,
          method: req.method,
          path: req.path,
          headers,
          agent: req.ownConnection ? false : agent,
          insecureHTTPParser: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (error) => resolve({ error, reused }));
          res.on("end", () => {
            const body = Buffer.concat(chunks);
            let json: Record<string, unknown> | undefined;
            try {
              const parsed: unknown = JSON.parse(body.toString("utf8"));
              if (parsed && typeof parsed === "object") json = parsed as Record<string, unknown>;
            } catch {
              // not JSON
            }
            resolve({ res: { status: res.statusCode ?? 0, headers: res.headers, body, json }, reused });
          });
        },
      );
      outgoing.on("socket", () => {
        reused = outgoing.reusedSocket;
      });
      outgoing.on("error", (error) => resolve({ error, reused }));
      if (req.body !== undefined && req.body.length > 0) {
        if (req.chunked) {
          // Several writes without a Content-Length: Node sends them as chunks.
          const step = Math.max(1, Math.ceil(req.body.length / 4));
          for (let i = 0; i < req.body.length; i += step) outgoing.write(req.body.subarray(i, i + step));
        } else {
          outgoing.setHeader("content-length", req.body.length);
          outgoing.write(req.body);
        }
      } else if (req.body !== undefined && !req.chunked) {
        outgoing.setHeader("content-length", 0);
      }
      outgoing.end();
    });

  return {
    async send(req) {
      const first = await once(req);
      if (first.res) return first.res;
      // A kept-alive socket the server closed just as it was reused: the request never arrived.
      if (first.reused && /ECONNRESET|socket hang up|EPIPE/.test(first.error?.message ?? "")) {
        const second = await once(req);
        if (second.res) return second.res;
        throw second.error;
      }
      throw first.error;
    },
    close: () => agent.destroy(),
  };
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function inParallel<T>(items: T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
