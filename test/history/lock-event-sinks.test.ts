import { describe, expect, it } from "vitest";
import type { LockEventContext } from "../../src/http/app-env.ts";
import type { LockEvent } from "../../src/locks/lock-events.ts";
import { lockEventSinks } from "../../src/observe/lock-event-sinks.ts";

const context: LockEventContext = { caller: { issuer: "https://issuer.example", subject: "svc", claims: {} }, background: () => {} };
const events: LockEvent[] = [{ kind: "acquired", lock: "deploy", at: new Date(0) }];

describe("the consumers of lock events, as one", () => {
  it("hands every request's events to each sink in turn, even after one that throws", () => {
    const seen: string[] = [];
    const all = lockEventSinks([
      (given) => seen.push(`history ${given.length}`),
      () => {
        throw new Error("broken sink");
      },
      undefined,
      (given, givenContext) => seen.push(`webhooks ${given[0]!.kind} ${givenContext.caller.subject}`),
    ])!;
    expect(() => all(events, context)).not.toThrow();
    expect(seen).toEqual(["history 1", "webhooks acquired svc"]);
  });

  it("is no sink at all when every feature is off", () => {
    expect(lockEventSinks([undefined, undefined])).toBeUndefined();
  });
});
