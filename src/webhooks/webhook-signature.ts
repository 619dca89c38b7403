/**
 * The Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`, one
 * per secret, separated by spaces (a receiver accepts the message if any one matches). WebCrypto
 * only, so it runs on Node and in workerd alike.
 */
export class WebhookSigner {
  readonly #keys: Promise<CryptoKey[]>;

  constructor(secrets: Uint8Array<ArrayBuffer>[]) {
    this.#keys = Promise.all(
      secrets.map((secret) => crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])),
    );
  }

  /** The `webhook-signature` header value for this message id, timestamp (seconds) and exact body. */
  async sign(id: string, timestamp: number, body: string): Promise<string> {
    const signed = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
    const signatures = await Promise.all((await this.#keys).map((key) => crypto.subtle.sign("HMAC", key, signed)));
    return signatures.map((signature) => `v1,${toBase64(new Uint8Array(signature))}`).join(" ");
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
