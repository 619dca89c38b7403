import { createServer, STATUS_CODES } from "node:http";
import { getRequestListener } from "@hono/node-server";
import type { Logger } from "../http/errors.ts";
import { problemParts } from "../http/problem.ts";
import type { ListenAddress } from "./listen-address.ts";

export interface ServeOptions {
  fetch: Parameters<typeof getRequestListener>[0];
  address: ListenAddress;
  log: Logger;
  /** Runs after the server has closed on SIGINT or SIGTERM, before the process exits. */
  onShutdown?: () => Promise<void>;
}

/**
 * Serves the app on Node's HTTP server until SIGINT or SIGTERM. Resolves with the URL once
 * listening; the same URL goes to stdout as one `{"event":"listening"}` line, the signal that
 * the gateway is up for whoever started it.
 */
export async function serve(options: ServeOptions): Promise<string> {
  const { address, log } = options;
  const server = createServer(
    getRequestListener(options.fetch, {
      hostname: address.hostname,
      // Node parsed the request but it has no Fetch API form (a Host that is not a host, say).
      errorHandler: () => {
        const { status, headers, body } = problemParts("invalid_request", { detail: "the request's URL or Host header is malformed" });
        return new Response(body, { status, headers });
      },
    }),
  );
  // Requests Node's HTTP parser refuses never reach the app; they still get a problem document.
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const code = err.code === "HPE_HEADER_OVERFLOW" ? "headers_too_large" : "invalid_request";
    const { status, headers, body } = problemParts(code, { detail: "the request is not valid HTTP/1.1" });
    const head = Object.entries({ ...headers, "content-length": String(Buffer.byteLength(body)), connection: "close" })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : address.port;
  const url = `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${port}`;
  process.stdout.write(`${JSON.stringify({ event: "listening", url })}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ level: "info", msg: "shutting down", signal });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await options.onShutdown?.().catch(() => {});
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  return url;
}
