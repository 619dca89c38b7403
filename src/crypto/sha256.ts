/**
 * SHA-256 and HMAC-SHA-256 as every lock request uses them: the verified-token cache's key, a
 * grant's verifier and the lock token's MAC. WebCrypto's by default, which every runtime has.
 * The Node entry passes node:crypto's (src/node/node-sha256.ts): on Node each WebCrypto call is a
 * job on the thread pool, 20–30 µs of CPU for a few dozen bytes, against 3–5 µs computed inline,
 * and a lock request makes two or three of them. Both give the same bytes, so gateways on either
 * runtime accept each other's tokens.
 */
export interface Sha256 {
  digest(data: Uint8Array): Promise<Uint8Array>;
  /** A MAC key, imported once and used for every request after. */
  hmacKey(raw: Uint8Array): Promise<HmacSha256Key>;
}

export interface HmacSha256Key {
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** Whether `mac` is the MAC of `data`, compared in constant time. */
  verify(mac: Uint8Array, data: Uint8Array): Promise<boolean>;
}

export const webCryptoSha256: Sha256 = {
  async digest(data) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", data as BufferSource));
  },
  async hmacKey(raw) {
    const key = await crypto.subtle.importKey("raw", raw as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    return {
      sign: async (data) => new Uint8Array(await crypto.subtle.sign("HMAC", key, data as BufferSource)),
      verify: (mac, data) => crypto.subtle.verify("HMAC", key, mac as BufferSource, data as BufferSource),
    };
  },
};
