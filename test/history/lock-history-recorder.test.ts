import { describe, expect, it } from "vitest";
import type { LockEventContext } from "../../src/http/app-env.ts";
import { LockHistoryRecorder, MAX_WRITES_IN_FLIGHT, RECORD_ANNOTATION, SERIES_WINDOW_MS } from "../../src/history/lock-history-recorder.ts";
import { EventApiError, type KubeEventApi } from "../../src/kube/events/event-api.ts";
import type { KubeEvent, KubeEventSeries } from "../../src/kube/events/kube-event.ts";
import type { LockEvent } from "../../src/locks/lock-events.ts";
import { FakeClock } from "../support/fake-clock.ts";

const caller = { issuer: "https://issuer.example", subject: "svc-alice", claims: {} };

/** The apiserver's side, in memory: what was created and patched, and how it should fail. */
class RecordingEventApi implements Pick<KubeEventApi, "create" | "patchSeries" | "leaseUid"> {
  created: KubeEvent[] = [];
  patches: Array<{ name: string; series: KubeEventSeries }> = [];
  failWith?: EventApiError;
  hang = false;
  /** When set, creates wait for it and then fail with `failWith`. */
  gate?: Promise<void>;
  async create(_namespace: string, event: KubeEvent) {
    if (this.hang) return new Promise<void>(() => {});
    if (this.gate) {
      await this.gate;
      throw this.failWith;
    }
    if (this.failWith) throw this.failWith;
    this.created.push(event);
  }
  async patchSeries(_namespace: string, name: string, series: KubeEventSeries) {
    if (this.failWith) throw this.failWith;
    this.patches.push({ name, series });
  }
  async leaseUid(_namespace: string, name: string) {
    return `uid-of-${name}`;
  }
}

function setUp(options: { maxEventsPerSecond?: number; burst?: number } = {}) {
  const clock = new FakeClock();
  const api = new RecordingEventApi();
  const drops: string[] = [];
  const written: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const recorder = new LockHistoryRecorder({
    events: api,
    namespace: "locks",
    reportingInstance: "gw-1",
    maxEventsPerSecond: options.maxEventsPerSecond ?? 5,
    burst: options.burst ?? 20,
    written: (write) => void written.push(write),
    drops: { dropped: (reason) => void drops.push(reason) },
    log: (entry) => logs.push(entry),
    now: () => clock.now().getTime(),
    sleep: (ms) => clock.sleep(ms),
  });
  const background: Promise<unknown>[] = [];
  const context: LockEventContext = { caller, background: (work) => void background.push(work.catch(() => {})) };
  /** Lets everything started so far run as far as it can without the clock moving. */
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  const pass = async (seconds: number) => {
    for (let s = 0; s < seconds * 10; s++) {
      clock.advance(0.1);
      await settle();
    }
  };
  return { clock, api, drops, written, logs, recorder, context, background, settle, pass };
}

const acquired = (label: string, at = new Date("2026-01-01T00:00:00.000Z"), fencingToken = "196"): LockEvent => ({
  kind: "acquired",
  lock: "deploy",
  at,
  holderIdentity: `${label} (svc-alice)`,
  subject: "svc-alice",
  issuer: "https://issuer.example",
  label,
  fencingToken,
});

describe("the lock history recorder", () => {
  it("writes nothing while the answer is being made, then one Event about the Lease", async () => {
    const { api, recorder, context, background, settle, written } = setUp();
    recorder.sink([acquired("ci-1")], context);
    expect(api.created).toEqual([]);
    expect(background).toHaveLength(1);
    await settle();
    expect(written).toEqual(["created"]);
    const [event] = api.created;
    expect(event).toMatchObject({
      eventTime: "2026-01-01T00:00:00.000000Z",
      reportingController: "leasegate",
      reportingInstance: "gw-1",
      reason: "Acquired",
      action: "Acquire",
      type: "Normal",
      regarding: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: "deploy", namespace: "locks", uid: "uid-of-deploy" },
    });
    expect(event!.metadata.name).toMatch(/^deploy\.[0-9a-f]{18}$/);
    expect(JSON.parse(event!.metadata.annotations![RECORD_ANNOTATION]!)).toMatchObject({ kind: "acquired", holder: "ci-1", fencingToken: "196" });
  });

  it("names Events so that the apiserver's name order is newest first", async () => {
    const { api, recorder, context, settle } = setUp();
    for (const [i, label] of ["a", "b", "c"].entries()) recorder.sink([acquired(label, new Date(Date.UTC(2026, 0, 1, 0, 0, i)))], context);
    await settle();
    const names = api.created.map((event) => event.metadata.name);
    expect([...names].sort()).toEqual([...names].reverse());
  });

  it("is bounded in rate: beyond the burst, new Events are dropped and counted until the bucket refills", async () => {
    const { api, recorder, context, drops, settle, pass } = setUp({ maxEventsPerSecond: 1, burst: 3 });
    recorder.sink(["a", "b", "c", "d", "e", "f"].map((label) => acquired(label)), context);
    await settle();
    expect(api.created).toHaveLength(3);
    expect(drops).toEqual(["rate_limited", "rate_limited", "rate_limited"]);
    await pass(2);
    recorder.sink(["g", "h", "i"].map((label) => acquired(label)), context);
    await settle();
    expect(api.created).toHaveLength(5);
    expect(drops).toHaveLength(4);
  });

  it("makes repeats by the same holder one Event whose series counts them, in few writes", async () => {
    const { api, recorder, context, settle, pass, written } = setUp();
    const start = Date.parse("2026-01-01T00:00:00.000Z");
    for (let i = 0; i < 5; i++) {
      recorder.sink([acquired("ci-1", new Date(start + i * 100), String(200 + i))], context);
      await settle();
    }
    await pass(3);
    expect(api.created).toHaveLength(1);
    expect(api.patches.at(-1)).toEqual({ name: api.created[0]!.metadata.name, series: { count: 5, lastObservedTime: "2026-01-01T00:00:00.400000Z" } });
    // Repeats within a second become one update.
    expect(api.patches.length).toBeLessThan(4);
    expect(written.filter((write) => write === "series")).toHaveLength(api.patches.length);
  });

  it("starts a new Event once a series has been quiet for its window", async () => {
    const { api, recorder, context, settle, clock } = setUp();
    recorder.sink([acquired("ci-1")], context);
    await settle();
    clock.advance(SERIES_WINDOW_MS / 1000 + 1);
    recorder.sink([acquired("ci-1")], context);
    await settle();
    expect(api.created).toHaveLength(2);
    expect(api.patches).toEqual([]);
  });

  it("never lets a failing apiserver reach the lock path: it drops, counts and tells the operator once", async () => {
    const { api, recorder, context, drops, logs, settle } = setUp();
    api.failWith = new EventApiError("forbidden", "the Kubernetes API answered 403 to POST events", 403);
    expect(() => recorder.sink([acquired("a"), acquired("b")], context)).not.toThrow();
    await settle();
    expect(drops).toEqual(["forbidden", "forbidden"]);
    const warnings = logs.filter((entry) => entry.msg === "lock history Events are being dropped");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ reason: "forbidden", hint: expect.stringContaining("infra/k8s/role.yaml") });
  });

  it("counts every occurrence of a series whose Event could not be created as dropped", async () => {
    const { api, recorder, context, drops, settle } = setUp();
    let open!: () => void;
    api.gate = new Promise<void>((resolve) => (open = resolve));
    api.failWith = new EventApiError("unavailable", "no answer");
    recorder.sink([acquired("a")], context);
    await settle();
    recorder.sink([acquired("a"), acquired("a")], context);
    await settle();
    expect(drops).toEqual([]);
    open();
    await settle();
    expect(drops).toEqual(["unavailable", "unavailable", "unavailable"]);
    // The series is closed: the next occurrence starts a new Event.
    api.gate = undefined;
    api.failWith = undefined;
    recorder.sink([acquired("a")], context);
    await settle();
    expect(api.created).toHaveLength(1);
  });

  it("drops rather than queues when too many writes are under way", async () => {
    const { api, recorder, context, drops, settle } = setUp({ maxEventsPerSecond: 1000, burst: 1000 });
    api.hang = true;
    recorder.sink(Array.from({ length: MAX_WRITES_IN_FLIGHT + 3 }, (_, i) => acquired(`holder-${i}`)), context);
    await settle();
    expect(drops).toEqual(["backlog", "backlog", "backlog"]);
  });

  it("survives sinks' own failures: a background that throws, a drop counter that throws", async () => {
    const clock = new FakeClock();
    const recorder = new LockHistoryRecorder({
      events: new RecordingEventApi(),
      namespace: "locks",
      reportingInstance: "gw-1",
      maxEventsPerSecond: 1,
      burst: 1,
      written: () => {
        throw new Error("metrics broke");
      },
      drops: {
        dropped: () => {
          throw new Error("metrics broke");
        },
      },
      now: () => clock.now().getTime(),
      sleep: (ms) => clock.sleep(ms),
    });
    expect(() =>
      recorder.sink([acquired("a")], {
        caller,
        background: () => {
          throw new Error("no waitUntil");
        },
      }),
    ).not.toThrow();
    const background: Promise<unknown>[] = [];
    recorder.sink([acquired("a"), acquired("b"), acquired("c")], { caller, background: (work) => void background.push(work) });
    await expect(Promise.all(background)).resolves.toBeDefined();
  });
});
