import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { exportJWK, generateKeyPair, type JWK } from "jose";

export type JwksMode = "ok" | "error" | "hang";

/**
 * A JWKS endpoint under the test's control: its key set can change (rotation), it can answer 500,
 * hang, or stop listening altogether and come back on the same port. Also serves as an attacker's
 * key server (for `jku` / `x5u`), where the point is that it is never contacted.
 */
export interface JwksServer {
  /** Base URL; the JWKS itself is at `${url}/jwks.json`. */
  url: string;
  jwksUri: string;
  setKeys(keys: JWK[]): void;
  setMode(mode: JwksMode): void;
  /** Requests received on any path. */
  hits(): number;
  /** Stops listening: connections are refused until `restart`. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[] = []): Promise<JwksServer> {
  let current = keys;
  let mode: JwksMode = "ok";
  let hits = 0;
  const sockets = new Set<Socket>();
  const hanging = new Set<() => void>();

  const make = (): Server => {
    const server = createServer((req, res) => {
      hits++;
      if (mode === "hang") {
        hanging.add(() => res.destroy());
        return;
      }
      if (mode === "error") {
        res.writeHead(500, { "content-type": "text/plain" }).end("internal error");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: current }));
    });
    server.on("connection", (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    return server;
  };

  let server = make();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const stop = () =>
    new Promise<void>((resolve) => {
      for (const release of hanging) release();
      hanging.clear();
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });

  return {
    url,
    jwksUri: `${url}/jwks.json`,
    setKeys: (keys) => {
      current = keys;
    },
    setMode: (m) => {
      mode = m;
      if (m !== "hang") {
        for (const release of hanging) release();
        hanging.clear();
      }
    },
    hits: () => hits,
    stop,
    restart: async () => {
      await stop();
      server = make();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", resolve);
      });
    },
    close: stop,
  };
}

/** A fresh signing key pair with its public JWK (kid and alg set). */
export async function signingKey(kid: string, alg: "RS256" | "ES256" = "RS256"): Promise<{ kid: string; privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}
