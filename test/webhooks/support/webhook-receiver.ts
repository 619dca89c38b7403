import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/** One request as a receiver got it, and what the reference Standard Webhooks library made of it. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** `performance.now()` when the request had arrived in full. */
  arrivedAt: number;
  /** The payload, when `standardwebhooks` verified the signature with the receiver's secret; else null. */
  verified: { type: string; timestamp: string; data: Record<string, unknown> } | null;
  /** Why verification failed, when it did. */
  refusedBecause?: string;
}

/** What to answer: a status and headers, after an optional wait (a promise the test resolves). */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  after?: Promise<unknown>;
}

export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** Resolves once `count` requests have arrived, or fails after `withinMs`. */
  waitFor(count: number, withinMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/**
 * A real webhook receiver on loopback: it verifies every request with the `standardwebhooks`
 * package (the specification's reference library, independent of the sender) and answers as
 * `answer` says (200 unless told otherwise).
 */
export async function startWebhookReceiver(
  secret: string,
  answer: (request: Received, index: number) => Answer = () => ({ status: 200 }),
): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const received: Received[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const request: Received = { path: req.url ?? "/", headers: req.headers, body, arrivedAt: performance.now(), verified: null };
      try {
        request.verified = verifier.verify(body, req.headers as Record<string, string>) as Received["verified"];
      } catch (err) {
        request.refusedBecause = (err as Error).message;
      }
      const index = received.push(request) - 1;
      for (const wake of waiters) wake();
      const { status, headers, after } = answer(request, index);
      void Promise.resolve(after).then(() => {
        if (!res.destroyed) res.writeHead(status, headers).end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    waitFor(count, withinMs = 10_000) {
      return new Promise<Received[]>((resolve, reject) => {
        const check = () => {
          if (received.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(received.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} webhook requests within ${withinMs} ms, got ${received.length}`));
        }, withinMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fresh signing secret as Standard Webhooks spells it. */
export function newWebhookSecret(bytes = 32): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64")}`;
}
