import { SignJWT } from "jose";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FixtureWorker, startFixtureWorker } from "../support/fixture-worker.ts";
import { clusterInfo, newTestNamespace } from "../support/cluster.ts";
import { gatewayBearerToken } from "../support/gateway.ts";
import { newWebhookSecret, startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

/**
 * Webhooks from the app in workerd (Miniflare), over the real apiserver: a Worker answers and
 * then has only waitUntil to finish its work, so a delivery that needs a retry after the
 * response shows that the sink's work is really handed to waitUntil.
 */
const ISSUER = "https://issuer.webhooks.test";
const ISSUER_SECRET = "a-shared-secret-of-more-than-32-characters";

let worker: Miniflare;
let receiver: WebhookReceiver;
let fixture: FixtureWorker;
const logs: string[] = [];

beforeAll(async () => {
  const secret = newWebhookSecret();
  // Every message is refused once (503) and taken on its second attempt, half a second to a second later.
  const attempts = new Map<string, number>();
  receiver = await startWebhookReceiver(secret, (request) => {
    const id = String(request.headers["webhook-id"]);
    attempts.set(id, (attempts.get(id) ?? 0) + 1);
    return { status: attempts.get(id) === 1 ? 503 : 204 };
  });
  const namespace = await newTestNamespace("webhooks-workerd");

  // Bundled as `wrangler deploy` bundles the gateway (same wrangler.toml).
  fixture = await startFixtureWorker("test/webhooks/fixtures/webhook-worker.ts", {
    compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
    bindings: {
      KUBE_SERVER: clusterInfo().server,
      KUBE_TOKEN: gatewayBearerToken(),
      NAMESPACE: namespace,
      ISSUER,
      ISSUER_SECRET,
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: secret,
    },
    onLog: (message) => void logs.push(message),
  });
  worker = fixture.worker;
});

afterAll(async () => {
  await fixture?.dispose();
  await receiver?.close();
});

async function acquire(lock: string, headers: Record<string, string> = {}): Promise<{ status: number; answeredAt: number }> {
  const jwt = await new SignJWT({ sub: "svc-webhooks" })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(ISSUER)
    .setAudience("leasegate")
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(ISSUER_SECRET));
  const response = await worker.dispatchFetch(`http://gateway.test/locks/${lock}/acquire`, {
    method: "POST",
    headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json", ...headers },
    body: JSON.stringify({ holder: "workerd", ttlSeconds: 30 }),
  });
  await response.text();
  return { status: response.status, answeredAt: performance.now() };
}

describe("webhooks from a Worker", () => {
  it("are delivered after the response, retries included, by work handed to waitUntil", async () => {
    const { status, answeredAt } = await acquire(`wd-${Date.now().toString(36)}`);
    expect(status).toBe(200);
    const [first, second] = await receiver.waitFor(2).catch((err: Error) => {
      throw new Error(`${err.message}\nthe Worker logged:\n${logs.join("\n")}`);
    });
    expect(first!.verified).toMatchObject({ type: "lock.acquired", data: { holder: { label: "workerd", subject: "svc-webhooks" } } });
    expect(second!.verified).toEqual(first!.verified);
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    // The second attempt came at least the shortest back-off (500 ms) after the first, long after the answer.
    expect(second!.arrivedAt - answeredAt).toBeGreaterThan(400);
    console.info(`retry delivered ${(second!.arrivedAt - answeredAt).toFixed(0)} ms after the Worker answered`);
  });

  it("(control) are cut off with the response when nothing keeps them alive", async () => {
    const before = receiver.received.length;
    const { status } = await acquire(`wd-control-${Date.now().toString(36)}`, { "x-without-wait-until": "1" });
    expect(status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    console.info(`without waitUntil, ${receiver.received.length - before} of the 2 attempts arrived`);
    // At most the first attempt (started before the answer went out); never the retry.
    expect(receiver.received.length - before).toBeLessThanOrEqual(1);
  });
});
