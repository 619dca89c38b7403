import { describe, expect, it } from "vitest";
import { type Sha256, webCryptoSha256 } from "../../src/crypto/sha256.ts";
import { TokenKeys } from "../../src/locks/lock-token.ts";
import { nodeSha256 } from "../../src/node/node-sha256.ts";

const implementations: Array<[string, Sha256]> = [
  ["WebCrypto (Workers, and the default)", webCryptoSha256],
  ["node:crypto (the Node entry)", nodeSha256],
];
const text = new TextEncoder();
const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");

describe.each(implementations)("SHA-256 and HMAC-SHA-256 with %s", (_, sha256) => {
  it("hashes as FIPS 180-4 says", async () => {
    expect(hex(await sha256.digest(text.encode("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hex(await sha256.digest(new Uint8Array(0)))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("computes the MAC of RFC 4231's test case 2 and accepts exactly it", async () => {
    const key = await sha256.hmacKey(text.encode("Jefe"));
    const data = text.encode("what do ya want for nothing?");
    const mac = await key.sign(data);
    expect(hex(mac)).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    expect(await key.verify(mac, data)).toBe(true);
    expect(await key.verify(mac, text.encode("what do ya want for nothing!"))).toBe(false);
    const altered = mac.slice();
    altered[31]! ^= 1;
    expect(await key.verify(altered, data)).toBe(false);
    expect(await key.verify(mac.slice(0, 31), data)).toBe(false);
    expect(await key.verify(new Uint8Array(0), data)).toBe(false);
  });

  it("does not change when the caller's key bytes do after the import", async () => {
    const raw = new Uint8Array(32).fill(7);
    const key = await sha256.hmacKey(raw);
    const before = await key.sign(text.encode("x"));
    raw.fill(8);
    expect(hex(await key.sign(text.encode("x")))).toBe(hex(before));
  });
});

describe("the two implementations", () => {
  it("give the same digests and MACs for any input, so gateways on either runtime accept each other's tokens", async () => {
    for (let length = 0; length < 300; length += 7) {
      const data = crypto.getRandomValues(new Uint8Array(length));
      const raw = crypto.getRandomValues(new Uint8Array(32));
      const [web, node] = [await webCryptoSha256.hmacKey(raw), await nodeSha256.hmacKey(raw)];
      expect(hex(await nodeSha256.digest(data))).toBe(hex(await webCryptoSha256.digest(data)));
      expect(hex(await node.sign(data))).toBe(hex(await web.sign(data)));
    }
  });

  it("open each other's lock tokens and compute the same verifier", async () => {
    const raw = [new Uint8Array(32).fill(3)];
    const [web, node] = [await TokenKeys.import(raw, webCryptoSha256), await TokenKeys.import(raw, nodeSha256)];
    const grant = { fencingToken: "7", secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I", holderIdentity: "ci (team-a:alice)" };
    const token = await node.issue("ns/deploy", grant);
    expect(token).toBe(await web.issue("ns/deploy", grant));
    expect(await web.open("ns/deploy", token)).toEqual({ ...grant, signedByCurrentKey: true });
    expect(await node.open("ns/other", token)).toBeNull();
    expect(await node.verifierOf(grant.secret)).toBe(await web.verifierOf(grant.secret));
  });
});
