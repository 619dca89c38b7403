import { describe, expect, it } from "vitest";
import { LockHistoryReader } from "../../src/history/lock-history-reader.ts";
import { RECORD_ANNOTATION } from "../../src/history/lock-history-recorder.ts";
import { EventApiError, type EventListOptions, type EventListPage } from "../../src/kube/events/event-api.ts";
import type { KubeEvent } from "../../src/kube/events/kube-event.ts";
import { ListCursors } from "../../src/locks/list-cursor.ts";
import { LockError } from "../../src/locks/lock-errors.ts";

const event = (name: string, fields: Partial<KubeEvent> = {}): KubeEvent => ({
  metadata: { name, annotations: { [RECORD_ANNOTATION]: JSON.stringify({ kind: "acquired", holder: "ci-1", fencingToken: "7" }) } },
  eventTime: "2026-01-01T00:00:01.123456Z",
  reportingController: "leasegate",
  reportingInstance: "gw-1",
  action: "Acquire",
  reason: "Acquired",
  type: "Normal",
  note: "Granted",
  regarding: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: "deploy", namespace: "locks" },
  ...fields,
});

/** Serves events two at a time, with the apiserver's own continue values, and remembers what it was asked. */
function listing(events: KubeEvent[], failure?: EventApiError) {
  const asked: EventListOptions[] = [];
  return {
    asked,
    api: {
      async list(_namespace: string, options: EventListOptions): Promise<EventListPage> {
        asked.push(options);
        if (failure) throw failure;
        const start = options.continueToken ? Number(options.continueToken.slice(3)) : 0;
        const next = start + options.limit;
        return { items: events.slice(start, next), continueToken: next < events.length ? `at-${next}` : undefined };
      },
    },
  };
}

const cursors = await ListCursors.import([new Uint8Array(32).fill(3)]);

describe("reading a lock's history", () => {
  it("asks for this Lease's Events from leasegate only, and pages with sealed continue values", async () => {
    const { api, asked } = listing([event("deploy.3"), event("deploy.2"), event("deploy.1")]);
    const reader = new LockHistoryReader({ events: api, namespace: "locks", cursors });
    const first = await reader.page("deploy", 2, undefined);
    expect(first.items).toHaveLength(2);
    expect(asked[0]).toEqual({ fieldSelector: "regarding.kind=Lease,regarding.name=deploy,reportingController=leasegate", limit: 2, continueToken: undefined });
    expect(first.continue).toMatch(/^lc1\./);
    expect(first.continue).not.toContain("at-2");
    const second = await reader.page("deploy", 2, first.continue);
    expect(asked[1]!.continueToken).toBe("at-2");
    expect(second.items).toHaveLength(1);
    expect(second.continue).toBeUndefined();
  });

  it("gives each entry's facts, its series and its times in milliseconds", async () => {
    const { api } = listing([event("deploy.1", { series: { count: 4, lastObservedTime: "2026-01-01T00:00:09.000001Z" } })]);
    const [entry] = (await new LockHistoryReader({ events: api, namespace: "locks", cursors }).page("deploy", 10, undefined)).items;
    expect(entry).toEqual({
      kind: "acquired",
      holder: "ci-1",
      fencingToken: "7",
      reason: "Acquired",
      action: "Acquire",
      type: "Normal",
      note: "Granted",
      at: "2026-01-01T00:00:01.123Z",
      lastAt: "2026-01-01T00:00:09.000Z",
      count: 4,
      reportingInstance: "gw-1",
    });
  });

  it("refuses a continue value it did not seal for this lock, before asking the apiserver", async () => {
    const { api, asked } = listing([event("deploy.3"), event("deploy.2"), event("deploy.1")]);
    const reader = new LockHistoryReader({ events: api, namespace: "locks", cursors });
    const other = (await reader.page("other", 1, undefined)).continue!;
    asked.length = 0;
    for (const cursor of [other, "at-1", "lc1.forged"]) {
      await expect(reader.page("deploy", 1, cursor)).rejects.toMatchObject({ reason: "invalid_cursor" });
    }
    expect(asked).toEqual([]);
  });

  it("passes over what is not a well-formed Event and ignores facts of the wrong shape", async () => {
    const forged = event("deploy.2", { metadata: { name: "deploy.2", annotations: { [RECORD_ANNOTATION]: '{"kind":"owned","fencingToken":7,"by":{"subject":1}}' } } });
    const { api } = listing([event("deploy.3", { eventTime: "yesterday" }), forged]);
    const { items } = await new LockHistoryReader({ events: api, namespace: "locks", cursors }).page("deploy", 10, undefined);
    expect(items).toHaveLength(1);
    expect(items[0]).not.toHaveProperty("kind");
    expect(items[0]).not.toHaveProperty("fencingToken");
    expect(items[0]).not.toHaveProperty("by");
  });

  it.each([
    ["forbidden", "backend_forbidden"],
    ["unavailable", "backend_unavailable"],
  ] as const)("turns a %s apiserver into %s", async (failure, reason) => {
    const { api } = listing([], new EventApiError(failure, "no"));
    const err = await new LockHistoryReader({ events: api, namespace: "locks", cursors }).page("deploy", 1, undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockError);
    expect(err).toMatchObject({ reason });
  });
});
