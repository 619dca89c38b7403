import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { backoffMs, retryAfterMs } from "../../src/webhooks/retry-policy.ts";
import { webhookSink } from "../../src/webhooks/webhook-sink.ts";
import { webhooksConfigSchema } from "../../src/webhooks/webhook-config.ts";
import { lockEvent, sinkHarness } from "./support/sink-harness.ts";
import { newWebhookSecret, startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

const URL = "https://hooks.example.com/leasegate";

describe("retrying a webhook", () => {
  it("tries again after 0.5-1 s, then 1-2 s, then 2-4 s …, with the same webhook-id and a fresh, valid signature each time", async () => {
    const h = sinkHarness([{ url: URL }], (_, index) => [503, 500, 200][index]!);
    h.send(lockEvent());
    await h.asleepAfter(1);
    h.clock.advance(0.5);
    await h.asleepAfter(2);
    h.clock.advance(1);
    await Promise.all(h.background);

    expect(h.calls).toHaveLength(3);
    expect(h.attemptTimes()).toEqual([0, 500, 1500]);
    expect(new Set(h.calls.map((call) => call.headers["webhook-id"])).size).toBe(1);
    expect(h.calls.map((call) => Number(call.headers["webhook-timestamp"]) - Number(h.calls[0]!.headers["webhook-timestamp"]))).toEqual([0, 0, 1]);
    for (const call of h.calls) expect(h.verify(call)).toMatchObject({ type: "lock.released", data: { lock: "deploy-prod" } });
    expect(h.drops).toEqual([]);
  });

  it("spreads its back-off between half and all of the doubling wait, up to a minute", () => {
    expect([1, 2, 3, 4].map((retry) => backoffMs(retry, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((retry) => backoffMs(retry, () => 0.999999))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(20, () => 0.999999)).toBe(60_000);
  });

  it("abandons an attempt that gets no answer within timeoutMs, aborting its request, and tries again", async () => {
    const h = sinkHarness([{ url: URL, timeoutMs: 2_000 }], (_, index) => (index === 0 ? "no answer" : 200));
    h.send(lockEvent());
    await h.asleepAfter(1);
    expect(h.calls[0]!.signal.aborted).toBe(false);
    h.clock.advance(2);
    await h.asleepAfter(1);
    expect(h.calls[0]!.signal.aborted).toBe(true);
    h.clock.advance(0.5);
    await Promise.all(h.background);
    expect(h.attemptTimes()).toEqual([0, 2500]);
    expect(h.drops).toEqual([]);
  });

  it("waits at least as long as the receiver's Retry-After asks (seconds or a date)", async () => {
    const h = sinkHarness([{ url: URL }], (call, index) =>
      index === 0
        ? { status: 429, headers: { "retry-after": "7" } }
        : index === 1
          ? { status: 503, headers: { "retry-after": new Date(call.at + 3_000).toUTCString() } }
          : 200,
    );
    h.send(lockEvent());
    await h.asleepAfter(1);
    h.clock.advance(6.9);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(h.calls).toHaveLength(1);
    h.clock.advance(0.1);
    await h.asleepAfter(2);
    h.clock.advance(3);
    await Promise.all(h.background);
    expect(h.attemptTimes()).toEqual([0, 7000, 10_000]);
    expect(retryAfterMs("soon", new Date())).toBeUndefined();
  });

  it("gives up after maxAttempts, counts the message as dropped and says why in the log", async () => {
    const h = sinkHarness([{ url: URL, name: "ops-bot", maxAttempts: 3 }], () => 503);
    h.send(lockEvent());
    await h.asleepAfter(1);
    h.clock.advance(0.5);
    await h.asleepAfter(2);
    h.clock.advance(1);
    await Promise.all(h.background);

    expect(h.calls).toHaveLength(3);
    expect(h.drops).toEqual([["gave_up", "ops-bot"]]);
    expect(h.logs).toEqual([
      expect.objectContaining({ level: "warn", msg: "webhook not delivered", endpoint: "ops-bot", type: "lock.released", reason: "gave_up", attempts: 3, status: 503, webhookId: h.calls[0]!.headers["webhook-id"] }),
    ]);
  });

  it("gives up when giveUpAfterSeconds would pass before the next attempt, instead of sleeping past it", async () => {
    const h = sinkHarness([{ url: URL, maxAttempts: 10, giveUpAfterSeconds: 3 }], () => 503);
    h.send(lockEvent());
    await h.asleepAfter(1);
    h.clock.advance(0.5);
    await h.asleepAfter(2);
    h.clock.advance(1);
    // The next wait (2 s) would end after the 3 s: the message is dropped now, not later.
    await Promise.all(h.background);
    expect(h.attemptTimes()).toEqual([0, 500, 1500]);
    expect(h.clock.sleeping).toBe(0);
    expect(h.drops).toEqual([["gave_up", "hooks.example.com"]]);
  });

  it("gives up at once when Retry-After asks for more time than is left", async () => {
    const h = sinkHarness([{ url: URL }], () => ({ status: 503, headers: { "retry-after": "3600" } }));
    h.send(lockEvent());
    await Promise.all(h.background);
    expect(h.calls).toHaveLength(1);
    expect(h.drops).toEqual([["gave_up", "hooks.example.com"]]);
  });

  it("retries a connection that failed", async () => {
    const h = sinkHarness([{ url: URL }], (_, index) => (index === 0 ? "connection refused" : 204));
    h.send(lockEvent());
    await h.asleepAfter(1);
    h.clock.advance(0.5);
    await Promise.all(h.background);
    expect(h.calls).toHaveLength(2);
    expect(h.drops).toEqual([]);
  });

  it.each([400, 401, 403, 404, 410, 422])("does not retry %i, which the next attempt would get as well", async (status) => {
    const h = sinkHarness([{ url: URL }], () => status);
    h.send(lockEvent());
    await Promise.all(h.background);
    expect(h.calls).toHaveLength(1);
    expect(h.drops).toEqual([["refused", "hooks.example.com"]]);
    expect(h.logs[0]).toMatchObject({ reason: "refused", status, attempts: 1 });
  });

  it.each([408, 425, 429, 500, 502, 503, 504])("retries %i", async (status) => {
    const h = sinkHarness([{ url: URL, maxAttempts: 2 }], (_, index) => (index === 0 ? status : 200));
    h.send(lockEvent());
    await h.asleepAfter(1);
    h.clock.advance(0.5);
    await Promise.all(h.background);
    expect(h.calls).toHaveLength(2);
    expect(h.drops).toEqual([]);
  });
});

describe("webhooks over real HTTP", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanup.splice(0).map((close) => close()));
  });

  function realSink(url: string, secret: string, fields: Record<string, unknown> = {}) {
    const drops: string[] = [];
    const logs: Array<Record<string, unknown>> = [];
    const sink = webhookSink(webhooksConfigSchema.parse([{ url, secretEnv: "HOOK_SECRET", ...fields }]), {
      namespace: "leasegate",
      secrets: { HOOK_SECRET: secret },
      log: (entry) => logs.push(entry),
      onDropped: (reason) => drops.push(reason),
    });
    const background: Array<Promise<unknown>> = [];
    const send = () => sink([lockEvent()], { caller: { issuer: "i", subject: "s", claims: {} }, background: (work) => background.push(work) });
    return { sink, send, drops, logs, background };
  }

  async function receiver(...args: Parameters<typeof startWebhookReceiver>): Promise<WebhookReceiver> {
    const started = await startWebhookReceiver(...args);
    cleanup.push(() => started.close());
    return started;
  }

  it("reach a receiver that verifies them with the standardwebhooks package", async () => {
    const secret = newWebhookSecret();
    const hooks = await receiver(secret);
    const { send, background, drops } = realSink(hooks.url, secret);
    send();
    await Promise.all(background);
    const [request] = await hooks.waitFor(1);
    expect(request!.refusedBecause).toBeUndefined();
    expect(request!.verified).toMatchObject({ type: "lock.released", data: { lock: "deploy-prod", namespace: "leasegate", fencingToken: "42" } });
    expect(request!.headers).toMatchObject({ "content-type": "application/json", "user-agent": "leasegate-webhooks/1" });
    expect(request!.headers["webhook-id"]).toMatch(/^msg_[A-Za-z0-9_-]{22}$/);
    expect(drops).toEqual([]);
  });

  it("never follow a redirect: the place it points to gets nothing", async () => {
    const secret = newWebhookSecret();
    const elsewhere = await receiver(secret);
    const redirecting = createServer((_, res) => res.writeHead(307, { location: elsewhere.url }).end());
    await new Promise<void>((resolve) => redirecting.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => new Promise<void>((resolve) => redirecting.close(() => resolve())));
    const { send, background, drops, logs } = realSink(`http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/hooks`, secret);
    send();
    await Promise.all(background);
    expect(drops).toEqual(["refused"]);
    expect(logs[0]).toMatchObject({ reason: "refused", status: 307, error: "the endpoint answered with a redirect, which is never followed" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(elsewhere.received).toEqual([]);
  });

  it("stop waiting for a receiver that does not answer within timeoutMs", async () => {
    const secret = newWebhookSecret();
    const silent = await receiver(secret, () => ({ status: 200, after: new Promise(() => {}) }));
    const { send, background, drops, logs } = realSink(silent.url, secret, { timeoutMs: 200, maxAttempts: 1 });
    const started = performance.now();
    send();
    await Promise.all(background);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(drops).toEqual(["gave_up"]);
    expect(logs[0]).toMatchObject({ error: "no answer within 200 ms" });
  });

  it("are dropped, not thrown, when nothing listens at the endpoint", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { send, background, drops, logs } = realSink(`http://127.0.0.1:${port}/hooks`, newWebhookSecret(), { maxAttempts: 1 });
    expect(send).not.toThrow();
    await expect(Promise.all(background)).resolves.toBeDefined();
    expect(drops).toEqual(["gave_up"]);
    expect(String(logs[0]?.error)).toContain("ECONNREFUSED");
  });
});
