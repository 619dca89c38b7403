import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/load.ts";
import { webhooksConfigSchema } from "../../src/webhooks/webhook-config.ts";
import { webhookSink } from "../../src/webhooks/webhook-sink.ts";
import type { Reply } from "./support/scripted-fetch.ts";
import { until } from "./support/scripted-fetch.ts";
import { lockEvent, sinkHarness } from "./support/sink-harness.ts";
import { newWebhookSecret } from "./support/webhook-receiver.ts";

/** An answer the test gives when it chooses to. */
function gate(): { promise: Promise<Reply>; open: (reply?: Reply) => void } {
  let open!: (reply?: Reply) => void;
  const promise = new Promise<Reply>((resolve) => {
    open = (reply = 200) => resolve(reply);
  });
  return { promise, open };
}

describe("the webhook sink", () => {
  it("returns at once and leaves the delivery to the request's background work", async () => {
    const answer = gate();
    const h = sinkHarness([{ url: "https://hooks.example.com/a" }], () => answer.promise);
    h.send(lockEvent());
    expect(h.background).toHaveLength(1);
    await until(() => h.calls.length === 1);
    let settled = false;
    void h.background[0]!.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    answer.open();
    await h.background[0];
    expect(h.drops).toEqual([]);
  });

  it("sends each endpoint only the event types and locks it asks for", async () => {
    const h = sinkHarness([
      { name: "everything", url: "https://hooks.example.com/all" },
      { name: "chat-ops", url: "https://chat.example.com/hook", events: ["lock.released", "lock.force_released"], locks: ["deploy-*", "db-migrate"] },
    ]);
    h.send(
      lockEvent({ kind: "acquired", lock: "deploy-prod" }),
      lockEvent({ kind: "released", lock: "deploy-prod" }),
      lockEvent({ kind: "force_released", lock: "db-migrate" }),
      lockEvent({ kind: "released", lock: "db-migrate-2" }),
      lockEvent({ kind: "released", lock: "nightly" }),
    );
    await Promise.all(h.background);
    const seenBy = (url: string) => h.calls.filter((call) => call.url === url).map((call) => `${h.verify(call).type} ${h.verify(call).data.lock}`);
    expect(seenBy("https://hooks.example.com/all")).toHaveLength(5);
    expect(seenBy("https://chat.example.com/hook")).toEqual(["lock.released deploy-prod", "lock.force_released db-migrate"]);
  });

  it("gives each event one webhook-id, the same at every endpoint, and never follows redirects", async () => {
    const h = sinkHarness([{ name: "one", url: "https://one.example.com/" }, { name: "two", url: "https://two.example.com/" }]);
    h.send(lockEvent({ kind: "acquired" }), lockEvent({ kind: "released" }));
    await Promise.all(h.background);
    const ids = (url: string) => h.calls.filter((call) => call.url === url).map((call) => call.headers["webhook-id"]);
    expect(ids("https://one.example.com/")).toEqual(ids("https://two.example.com/"));
    expect(new Set(ids("https://one.example.com/")).size).toBe(2);
    expect(h.calls.every((call) => call.redirect === "manual")).toBe(true);
  });

  it("delivers the events of one request to an endpoint in the order they happened, one after the other", async () => {
    const first = gate();
    const h = sinkHarness([{ url: "https://hooks.example.com/a" }], (_, index) => (index === 0 ? first.promise : 200));
    h.send(lockEvent({ kind: "queue_joined" }), lockEvent({ kind: "acquired" }), lockEvent({ kind: "released" }));
    await until(() => h.calls.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(h.calls).toHaveLength(1);
    first.open();
    await Promise.all(h.background);
    expect(h.calls.map((call) => h.verify(call).type)).toEqual(["lock.queue_joined", "lock.acquired", "lock.released"]);
  });

  it("keeps at most maxQueued messages under way per endpoint, drops and counts the rest, and takes new ones once it drains", async () => {
    const answers = [gate(), gate()];
    const h = sinkHarness(
      [
        { name: "slow", url: "https://slow.example.com/", maxQueued: 2 },
        { name: "fast", url: "https://fast.example.com/" },
      ],
      (call, index) => (call.url.startsWith("https://slow") ? (answers.shift()?.promise ?? 200) : 200),
    );
    const pending = [...answers];
    for (let i = 0; i < 5; i++) h.send(lockEvent({ lock: `lock-${i}` }));
    await until(() => h.calls.filter((call) => call.url.startsWith("https://slow")).length === 2);

    expect(h.drops).toEqual([["queue_full", "slow"], ["queue_full", "slow"], ["queue_full", "slow"]]);
    // Reported once for the whole episode, not once per message.
    expect(h.logs).toEqual([{ level: "warn", msg: "webhook queue full: new messages are dropped until it drains", endpoint: "slow", maxQueued: 2 }]);
    // Another endpoint is not held up by the slow one.
    await until(() => h.calls.filter((call) => call.url.startsWith("https://fast")).length === 5);

    for (const answer of pending) answer.open();
    await Promise.all(h.background);
    h.send(lockEvent({ lock: "after-drain" }));
    await Promise.all(h.background);
    const slowLocks = h.calls.filter((call) => call.url.startsWith("https://slow")).map((call) => h.verify(call).data.lock);
    // lock-0 and lock-1 came from two requests, whose messages may overtake each other.
    expect(slowLocks.slice(0, 2).sort()).toEqual(["lock-0", "lock-1"]);
    expect(slowLocks.slice(2)).toEqual(["after-drain"]);
    expect(h.drops).toHaveLength(3);
  });

  it("never throws into the caller, whatever the endpoint, the transport or the metric does", async () => {
    const secret = newWebhookSecret();
    const logs: Array<Record<string, unknown>> = [];
    const sink = webhookSink(webhooksConfigSchema.parse([{ url: "https://hooks.example.com/", secretEnv: "S", maxAttempts: 1 }]), {
      namespace: "leasegate",
      secrets: { S: secret },
      fetch: () => {
        throw new Error("the transport broke before sending");
      },
      onDropped: () => {
        throw new Error("the metric broke");
      },
      log: (entry) => logs.push(entry),
    });
    const background: Array<Promise<unknown>> = [];
    expect(() => sink([lockEvent()], { caller: { issuer: "i", subject: "s", claims: {} }, background: (work) => background.push(work) })).not.toThrow();
    await expect(Promise.all(background)).resolves.toBeDefined();
    expect(logs).toEqual([expect.objectContaining({ msg: "webhook not delivered", reason: "gave_up", error: "the transport broke before sending" })]);

    const brokenBackground = () => {
      throw new Error("no background");
    };
    expect(() => sink([lockEvent()], { caller: { issuer: "i", subject: "s", claims: {} }, background: brokenBackground })).not.toThrow();
  });

  it("drains: resolves true once every message is settled, false when time runs out first", async () => {
    const answer = gate();
    const h = sinkHarness([{ url: "https://hooks.example.com/" }], () => answer.promise);
    h.send(lockEvent());
    await until(() => h.calls.length === 1);
    const early = h.sink.drain(1_000);
    await until(() => h.clock.sleeping === 2);
    h.clock.advance(1);
    expect(await early).toBe(false);
    const late = h.sink.drain(1_000);
    answer.open();
    expect(await late).toBe(true);
  });

  it("refuses to start without an endpoint's secret, naming the variable and never quoting its value", () => {
    const config = webhooksConfigSchema.parse([{ url: "https://hooks.example.com/", secretEnv: "OPS_WEBHOOK_SECRET" }]);
    expect(() => webhookSink(config, { namespace: "leasegate", secrets: {} })).toThrow(
      new ConfigError("  - LEASEGATE_CONFIG.webhooks.0.secretEnv: the variable OPS_WEBHOOK_SECRET is not set"),
    );
    const malformed = "whsec_dG9vIHNob3J0";
    const error = (() => {
      try {
        webhookSink(config, { namespace: "leasegate", secrets: { OPS_WEBHOOK_SECRET: malformed } });
      } catch (err) {
        return err as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toContain("must hold 24 to 64 bytes");
    expect(error!.message).not.toContain("dG9vIHNob3J0");
  });
});
