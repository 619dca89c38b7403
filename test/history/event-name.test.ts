import { describe, expect, it } from "vitest";
import { eventName } from "../../src/history/event-name.ts";
import { lockNameProblem } from "../../src/locks/lock-name.ts";

describe("history Event names", () => {
  it("sort newest first, also within one millisecond", () => {
    const at = new Date("2026-11-30T17:48:33.299Z");
    const names = [eventName("deploy", new Date(at.getTime() - 60_000)), eventName("deploy", at), eventName("deploy", at), eventName("deploy", new Date(at.getTime() + 1))];
    expect([...names].sort()).toEqual([...names].reverse());
  });

  it("are valid object names even for the longest lock names", () => {
    const long = `${"a".repeat(230)}-${"b".repeat(22)}`;
    expect(lockNameProblem(long)).toBeNull();
    const name = eventName(long, new Date());
    expect(name.length).toBeLessThanOrEqual(253);
    expect(lockNameProblem(name)).toBeNull();
    const dashy = eventName(`${"c".repeat(233)}-.x${"d".repeat(17)}`, new Date());
    expect(lockNameProblem(dashy)).toBeNull();
  });
});
