import { describe, expect, it } from "vitest";
import type { LockEvent } from "../../src/locks/lock-events.ts";
import { WEBHOOK_EVENT_TYPES, webhookPayload } from "../../src/webhooks/webhook-payload.ts";

const at = new Date("2026-03-01T12:00:00.000Z");
const ISSUER = "https://token.actions.githubusercontent.com";

describe("webhook payloads", () => {
  it("name the event type, when it happened, the lock and its namespace", () => {
    const payload = webhookPayload({ kind: "acquired", lock: "deploy-prod", at }, "leasegate");
    expect(payload).toEqual({ type: "lock.acquired", timestamp: "2026-03-01T12:00:00.000Z", data: { lock: "deploy-prod", namespace: "leasegate" } });
  });

  it("describe a grant by its holder and fencing token, and a takeover by whom it replaced", () => {
    const event: LockEvent = {
      kind: "taken_over",
      lock: "deploy-prod",
      at,
      holderIdentity: "runner-7 (repo:acme/app:ref:refs/heads/main)",
      label: "runner-7",
      subject: "repo:acme/app:ref:refs/heads/main",
      issuer: ISSUER,
      fencingToken: "4711",
      previousHolder: "laptop (alice)",
      heldSeconds: 91.2345678,
      waitedSeconds: 3.0004,
    };
    expect(webhookPayload(event, "leasegate").data).toEqual({
      lock: "deploy-prod",
      namespace: "leasegate",
      holder: { identity: "runner-7 (repo:acme/app:ref:refs/heads/main)", label: "runner-7", subject: "repo:acme/app:ref:refs/heads/main", issuer: ISSUER },
      fencingToken: "4711",
      previousHolder: "laptop (alice)",
      heldSeconds: 91.235,
      waitedSeconds: 3,
    });
  });

  it("list every fencing token a force release ended (several on a semaphore) and who forced it", () => {
    const event: LockEvent = {
      kind: "force_released",
      lock: "runners",
      at,
      previousHolder: "a (x), b (y)",
      fencingToken: "12, 15",
      heldSeconds: 40,
      by: { subject: "ops", issuer: ISSUER },
    };
    expect(webhookPayload(event, "ci").data).toEqual({
      lock: "runners",
      namespace: "ci",
      fencingTokens: ["12", "15"],
      previousHolder: "a (x), b (y)",
      heldSeconds: 40,
      by: { subject: "ops", issuer: ISSUER },
    });
  });

  it("give a waiter's place in line", () => {
    const event: LockEvent = { kind: "queue_joined", lock: "deploy-prod", at, holderIdentity: "ci (bot)", subject: "bot", label: "ci", position: 2 };
    expect(webhookPayload(event, "leasegate")).toMatchObject({ type: "lock.queue_joined", data: { holder: { identity: "ci (bot)", subject: "bot", label: "ci" }, position: 2 } });
  });

  it("carry only the fields written for them: a lock token or ticket on an event never reaches a receiver", () => {
    const event = {
      kind: "released",
      lock: "deploy-prod",
      at,
      holderIdentity: "laptop (alice)",
      fencingToken: "7",
      token: "lg2.7.c2VjcmV0LWxvY2stdG9rZW4",
      ticket: "secret-queue-ticket",
      verifier: "secret-verifier",
      metadata: { password: "hunter2" },
    } as unknown as LockEvent;
    const body = JSON.stringify(webhookPayload(event, "leasegate"));
    for (const secret of ["lg2.7", "c2VjcmV0", "secret-queue-ticket", "secret-verifier", "hunter2"]) expect(body).not.toContain(secret);
  });

  it("exist for every kind of lock event", () => {
    expect(WEBHOOK_EVENT_TYPES).toEqual([
      "lock.acquired",
      "lock.taken_over",
      "lock.released",
      "lock.force_released",
      "lock.lost",
      "lock.queue_joined",
      "lock.queue_left",
    ]);
  });
});
