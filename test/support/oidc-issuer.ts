import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

export interface MintOptions {
  /** Defaults to the issuer's RS256 key. */
  alg?: "RS256" | "ES256";
  kid?: string;
  /** Seconds from now; pass null to omit `exp`. */
  expiresIn?: number | null;
  notBefore?: number;
  issuer?: string;
  audience?: string | string[];
  header?: Record<string, unknown>;
}

export interface OidcIssuer {
  /** The `iss` value, also the base URL serving discovery and the JWKS. */
  issuer: string;
  jwksUri: string;
  /** Signs a token with one of this issuer's real keys. */
  mint(claims: JWTPayload, options?: MintOptions): Promise<string>;
  /** The public JWKS document as served. */
  jwks(): { keys: JWK[] };
  /** Makes the JWKS endpoint fail with 503 (or recover). */
  setJwksDown(down: boolean): void;
  /** Requests served on the JWKS endpoint so far. */
  jwksRequests(): number;
  /** Private keys, for attack tests that need to sign with them in unusual ways. */
  keys: { rs256: CryptoKey; es256: CryptoKey; rs256Public: CryptoKey };
  close(): Promise<void>;
  server: Server;
}

/** A real OpenID issuer on loopback: real key pairs, discovery document and JWKS. */
export async function startOidcIssuer(options: { defaultAudience?: string } = {}): Promise<OidcIssuer> {
  const rs = await generateKeyPair("RS256", { extractable: true });
  const es = await generateKeyPair("ES256", { extractable: true });
  const publicJwks = {
    keys: [
      { ...(await exportJWK(rs.publicKey)), kid: "rs-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK(es.publicKey)), kid: "es-1", alg: "ES256", use: "sig" },
    ],
  };
  let down = false;
  let jwksHits = 0;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/.well-known/jwks" || path === "/.well-known/jwks.json") {
      jwksHits++;
      if (down) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(publicJwks));
      return;
    }
    if (path === "/.well-known/openid-configuration") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ issuer, jwks_uri: `${issuer}/.well-known/jwks`, id_token_signing_alg_values_supported: ["RS256", "ES256"] }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUri: `${issuer}/.well-known/jwks`,
    server,
    keys: { rs256: rs.privateKey, es256: es.privateKey, rs256Public: rs.publicKey },
    jwks: () => publicJwks,
    setJwksDown: (value) => {
      down = value;
    },
    jwksRequests: () => jwksHits,
    async mint(claims, opts = {}) {
      const alg = opts.alg ?? "RS256";
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg, kid: opts.kid ?? (alg === "RS256" ? "rs-1" : "es-1"), typ: "JWT", ...opts.header })
        .setIssuer(opts.issuer ?? issuer)
        .setIssuedAt(now);
      const audience = opts.audience ?? options.defaultAudience;
      if (audience !== undefined) jwt.setAudience(audience);
      if (opts.expiresIn !== null) jwt.setExpirationTime(now + (opts.expiresIn ?? 300));
      if (opts.notBefore !== undefined) jwt.setNotBefore(now + opts.notBefore);
      return jwt.sign(alg === "RS256" ? rs.privateKey : es.privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
