import { describe, expect, it } from "vitest";
import { describeLockEvent, fitNote, NOTE_MAX_BYTES } from "../../src/history/lock-event-description.ts";
import type { LockEvent } from "../../src/locks/lock-events.ts";

const at = new Date("2026-11-30T17:48:33.299Z");
const grant = { holderIdentity: "ci-1 (svc-alice)", subject: "svc-alice", issuer: "https://issuer.example", label: "ci-1", fencingToken: "196" };
const caller = { subject: "svc-alice", issuer: "https://issuer.example" };
const bytes = (text: string) => new TextEncoder().encode(text).length;

describe("a lock event as a Kubernetes Event", () => {
  it.each([
    [{ kind: "acquired", ...grant }, "Acquired", "Acquire", "Normal"],
    [{ kind: "taken_over", ...grant, previousHolder: "old (svc-bob)", heldSeconds: 31 }, "TakenOver", "Acquire", "Warning"],
    [{ kind: "released", ...grant, heldSeconds: 12.34 }, "Released", "Release", "Normal"],
    [{ kind: "force_released", previousHolder: "ci-1 (svc-alice)", fencingToken: "196", heldSeconds: 40.1, by: { subject: "ops", issuer: "https://issuer.example" } }, "ForceReleased", "ForceRelease", "Warning"],
    [{ kind: "lost", holderIdentity: grant.holderIdentity, fencingToken: "196" }, "Lost", "Renew", "Warning"],
    [{ kind: "queue_joined", ...grant, fencingToken: undefined, position: 3 }, "QueueJoined", "JoinQueue", "Normal"],
    [{ kind: "queue_left", subject: "svc-alice", issuer: "https://issuer.example" }, "QueueLeft", "LeaveQueue", "Normal"],
  ] as const)("%o has reason %s, action %s and type %s", (fields, reason, action, type) => {
    const described = describeLockEvent({ lock: "deploy", at, ...fields } as LockEvent, caller);
    expect(described).toMatchObject({ reason, action, type });
    expect(bytes(described.note)).toBeLessThanOrEqual(NOTE_MAX_BYTES);
  });

  it("names the holder's label, subject and issuer, the fencing token and the durations", () => {
    const { note } = describeLockEvent({ lock: "deploy", at, kind: "acquired", ...grant, waitedSeconds: 3.21 }, caller);
    expect(note).toBe('Granted to holder "ci-1", subject "svc-alice", issuer "https://issuer.example": fencing token 196, after waiting 3.2 s in line.');
    const taken = describeLockEvent({ lock: "deploy", at, kind: "taken_over", ...grant, previousHolder: "old (svc-bob)", heldSeconds: 31 }, caller).note;
    expect(taken).toContain('the expired hold of "old (svc-bob)" had lasted 31.0 s');
    const forced = describeLockEvent(
      { lock: "deploy", at, kind: "force_released", previousHolder: "ci-1 (svc-alice)", fencingToken: "196", heldSeconds: 40.1, by: { subject: "ops" } },
      { subject: "ops", issuer: "https://issuer.example" },
    ).note;
    expect(forced).toBe('Force-released by subject "ops": ended the hold of "ci-1 (svc-alice)" (fencing token 196) after 40.1 s.');
  });

  it("names the caller that found a grant lost, or released one, where the event knows only the grant", () => {
    const lost = describeLockEvent({ lock: "deploy", at, kind: "lost", holderIdentity: grant.holderIdentity, fencingToken: "196" }, caller);
    expect(lost.note).toBe(
      'Lost by holder "ci-1 (svc-alice)": fencing token 196 had been released, taken over or force-released when subject "svc-alice", issuer "https://issuer.example" tried to renew it.',
    );
    expect(lost.record.by).toEqual(caller);
    const released = describeLockEvent({ lock: "deploy", at, kind: "released", holderIdentity: grant.holderIdentity, fencingToken: "196", heldSeconds: 1 }, caller);
    expect(released.note).toBe('Released by holder "ci-1 (svc-alice)" at the request of subject "svc-alice", issuer "https://issuer.example": fencing token 196, held 1.0 s.');
  });

  it("quotes caller-chosen text, shortens it, and keeps the note within the apiserver's 1024 bytes", () => {
    const label = `"quoted" \\ ${"ü".repeat(300)}`;
    const { note, record } = describeLockEvent({ lock: "deploy", at, kind: "acquired", ...grant, label, subject: "é".repeat(500), issuer: "https://i.example/".padEnd(600, "x") }, caller);
    expect(note).toContain('holder "\\"quoted\\" \\\\ ü');
    expect(note).toContain("…");
    expect(bytes(note)).toBeLessThanOrEqual(NOTE_MAX_BYTES);
    // The record keeps the whole text for the history route.
    expect(record.holder).toBe(label);
  });

  it("cuts a note at a character boundary", () => {
    const cut = fitNote("€".repeat(600));
    expect(bytes(cut)).toBeLessThanOrEqual(NOTE_MAX_BYTES);
    expect(cut.endsWith("€…")).toBe(true);
    expect(fitNote("short")).toBe("short");
  });

  it("makes the same thing done again by the same holder one series, whatever its fencing token and durations", () => {
    const key = (fields: Partial<LockEvent>) => describeLockEvent({ lock: "deploy", at, kind: "released", ...grant, heldSeconds: 1, ...fields } as LockEvent, caller).seriesKey;
    expect(key({ fencingToken: "200", heldSeconds: 9 })).toBe(key({}));
    expect(key({ label: "ci-2", holderIdentity: "ci-2 (svc-alice)" })).not.toBe(key({}));
    expect(key({ lock: "other" })).not.toBe(key({}));
    expect(key({ kind: "acquired" })).not.toBe(key({}));
  });

  it("never carries a lock token: the event has none to give", () => {
    const described = describeLockEvent({ lock: "deploy", at, kind: "acquired", ...grant }, caller);
    expect(JSON.stringify(described)).not.toMatch(/lg\d\./);
  });
});
