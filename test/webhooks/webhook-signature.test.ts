import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { parseWebhookSecrets } from "../../src/webhooks/webhook-secret.ts";
import { WebhookSigner } from "../../src/webhooks/webhook-signature.ts";
import { newWebhookSecret } from "./support/webhook-receiver.ts";

/** A signer for the secrets in `text`, as the sink builds it from an environment variable. */
function signerFor(text: string): WebhookSigner {
  const keys = parseWebhookSecrets(text);
  if (typeof keys === "string") throw new Error(keys);
  return new WebhookSigner(keys);
}

const now = () => Math.floor(Date.now() / 1000);

describe("webhook signatures", () => {
  it("are what the standardwebhooks reference library verifies", async () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ type: "lock.released", timestamp: new Date().toISOString(), data: { lock: "deploy-prod", holder: { label: "ünïcødé ✓" } } });
    const timestamp = now();
    const signature = await signerFor(secret).sign("msg_1", timestamp, body);

    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { "webhook-id": "msg_1", "webhook-timestamp": String(timestamp), "webhook-signature": signature })).toEqual(JSON.parse(body));
    // Byte for byte the library's own signature of the same message.
    expect(signature).toBe(new Webhook(secret).sign("msg_1", new Date(timestamp * 1000), body));
  });

  it("cover the id, the timestamp and the body: changing any one fails verification", async () => {
    const secret = newWebhookSecret();
    const body = '{"type":"lock.acquired"}';
    const timestamp = now();
    const signature = await signerFor(secret).sign("msg_1", timestamp, body);
    const verify = (id: string, at: number, text: string) =>
      () => new Webhook(secret).verify(text, { "webhook-id": id, "webhook-timestamp": String(at), "webhook-signature": signature });

    expect(verify("msg_1", timestamp, body)).not.toThrow();
    expect(verify("msg_2", timestamp, body)).toThrow("No matching signature found");
    expect(verify("msg_1", timestamp - 1, body)).toThrow("No matching signature found");
    expect(verify("msg_1", timestamp, body.replace("acquired", "released"))).toThrow("No matching signature found");
    expect(() => new Webhook(newWebhookSecret()).verify(body, { "webhook-id": "msg_1", "webhook-timestamp": String(timestamp), "webhook-signature": signature })).toThrow();
  });

  it("carry one signature per secret while a secret is rotated, so a receiver with either one accepts", async () => {
    const [old, fresh] = [newWebhookSecret(), newWebhookSecret(48)];
    const body = '{"type":"lock.lost"}';
    const timestamp = now();
    const signature = await signerFor(`${old} ${fresh}`).sign("msg_r", timestamp, body);
    const headers = { "webhook-id": "msg_r", "webhook-timestamp": String(timestamp), "webhook-signature": signature };

    expect(signature.split(" ")).toHaveLength(2);
    expect(new Webhook(old).verify(body, headers)).toEqual({ type: "lock.lost" });
    expect(new Webhook(fresh).verify(body, headers)).toEqual({ type: "lock.lost" });
  });
});

describe("webhook secrets", () => {
  it("are whsec_ and base64 of 24 to 64 bytes, one or several separated by spaces or commas", () => {
    expect(parseWebhookSecrets(newWebhookSecret(24))).toHaveLength(1);
    expect(parseWebhookSecrets(newWebhookSecret(64))).toHaveLength(1);
    expect(parseWebhookSecrets(`${newWebhookSecret()}, ${newWebhookSecret()}`)).toHaveLength(2);
  });

  it.each([
    [undefined, "is not set"],
    ["   ", "is not set"],
    [Buffer.alloc(32, 1).toString("base64"), "must start with whsec_"],
    [`${newWebhookSecret()} ${Buffer.alloc(32, 1).toString("base64")}`, "secret 2 must start with whsec_"],
    ["whsec_@@@@", "is not whsec_ followed by base64"],
    [newWebhookSecret(16), "must hold 24 to 64 bytes, not 16"],
    [newWebhookSecret(65), "must hold 24 to 64 bytes, not 65"],
    [Array.from({ length: 5 }, () => newWebhookSecret()).join(" "), "at most 4"],
  ])("refuses %j: %s", (text, reason) => {
    const result = parseWebhookSecrets(text);
    expect(typeof result).toBe("string");
    expect(result).toContain(reason);
    // The reason is shown at start-up: it never quotes the secret.
    if (text && text.trim()) expect(result).not.toContain(text.trim().slice(6, 20));
  });
});
