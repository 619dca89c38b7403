import { createHash, createHmac, createSecretKey, timingSafeEqual } from "node:crypto";
import type { Sha256 } from "../crypto/sha256.ts";

/** node:crypto's SHA-256 and HMAC-SHA-256, computed inline: a tenth of WebCrypto's cost per call on Node (see src/crypto/sha256.ts). */
export const nodeSha256: Sha256 = {
  async digest(data) {
    return createHash("sha256").update(data).digest();
  },
  async hmacKey(raw) {
    const key = createSecretKey(raw);
    const mac = (data: Uint8Array) => createHmac("sha256", key).update(data).digest();
    return {
      sign: async (data) => mac(data),
      verify: async (claimed, data) => {
        const expected = mac(data);
        return claimed.byteLength === expected.byteLength && timingSafeEqual(claimed, expected);
      },
    };
  },
};
