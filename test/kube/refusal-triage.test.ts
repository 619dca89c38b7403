import { describe, expect, it } from "vitest";
import { ApiserverError } from "../../src/kube/apiserver-error.ts";
import { fetchLeaseApi } from "../../src/kube/fetch-lease-api.ts";
import { toStoreError, type Verb } from "../../src/kube/kube-errors.ts";
import type { LeaseApi } from "../../src/kube/lease-api.ts";
import type { LeaseObject } from "../../src/kube/lease-codec.ts";
import { type Readiness, START_UP_WINDOW_MS, triageRefusals } from "../../src/kube/refusal-triage.ts";
import type { StoreError } from "../../src/locks/lock-store.ts";

/**
 * A 403 from the apiserver is either a starting apiserver that cannot judge permissions yet
 * (transient: 503 to the caller) or a permission the gateway's identity lacks (502). These tests
 * drive the triage with a scripted apiserver and a scripted /readyz.
 */
const NAMESPACE = "locks";
const LEASE: LeaseObject = { metadata: { name: "deploy", namespace: NAMESPACE, resourceVersion: "7" } };

const status = (code: number, reason: string) =>
  new ApiserverError(code, JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason, code, message: `${reason} by the apiserver` }), "GET leases");
const forbidden = () => status(403, "Forbidden");

type Answer = LeaseObject | ApiserverError;

/** An apiserver that answers each Lease request with the next scripted answer, and counts them. */
function scriptedApiserver(...answers: Answer[]) {
  let sent = 0;
  const next = async (): Promise<LeaseObject> => {
    const answer = answers[Math.min(sent++, answers.length - 1)]!;
    if (answer instanceof ApiserverError) throw answer;
    return answer;
  };
  const api: LeaseApi = {
    readNamespacedLease: next,
    createNamespacedLease: next,
    patchNamespacedLease: next,
    deleteNamespacedLease: next,
    listNamespacedLease: async () => ({ items: [await next()] }),
    watchLease: async () => {
      await next();
      return "changed";
    },
  };
  return { api, sent: () => sent };
}

/** A /readyz that answers as scripted (the last answer repeats), and counts how often it was asked. */
function scriptedReadiness(...answers: Array<Readiness | Error>) {
  let asked = 0;
  const check = async () => {
    const answer = answers[Math.min(asked++, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { check, asked: () => asked };
}

const READY: Readiness = { ready: true, answer: "200" };
const WARMING_UP: Readiness = { ready: false, answer: "403" };

/** What the lock store would make of the outcome, through the one mapping of apiserver errors. */
async function outcome(request: Promise<unknown>, verb: Verb = "get"): Promise<StoreError | "answered"> {
  return request.then(
    () => "answered" as const,
    (err: unknown) => toStoreError(err, verb, NAMESPACE),
  );
}

function manualTime() {
  let ms = 1_000_000;
  return { now: () => ms, advance: (by: number) => (ms += by) };
}

describe("a 403 from an apiserver that is not ready", () => {
  it("is 'unavailable', not 'forbidden', and is not retried", async () => {
    const apiserver = scriptedApiserver(forbidden(), LEASE);
    const readyz = scriptedReadiness(WARMING_UP);
    const api = triageRefusals(apiserver.api, readyz.check);

    const result = await outcome(api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE }));

    expect(result).toMatchObject({ reason: "unavailable" });
    expect((result as StoreError).message).toContain("/readyz answered 403");
    expect(apiserver.sent()).toBe(1);
    expect(readyz.asked()).toBe(1);
  });

  it("is 'unavailable' for a watch too, which the waiter then replaces by reading again later", async () => {
    const apiserver = scriptedApiserver(forbidden(), LEASE);
    const api = triageRefusals(apiserver.api, scriptedReadiness(WARMING_UP).check);
    const signal = new AbortController().signal;
    const result = await outcome(api.watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal }), "watch");
    expect(result).toMatchObject({ reason: "unavailable" });
    expect((result as StoreError).message).toContain("refused to watch leases (403)");
    expect(apiserver.sent()).toBe(1);
  });

  it("is 'unavailable' for a write too, never an unknown outcome: a refused request wrote nothing", async () => {
    const api = triageRefusals(scriptedApiserver(forbidden()).api, scriptedReadiness({ ready: false, answer: "500" }).check);
    const result = await outcome(api.createNamespacedLease({ namespace: NAMESPACE, body: LEASE }), "create");
    expect(result).toMatchObject({ reason: "unavailable" });
  });

  it("counts a /readyz that cannot be reached as not ready, without repeating where it is", async () => {
    const api = triageRefusals(scriptedApiserver(forbidden()).api, scriptedReadiness(new TypeError("connect ECONNREFUSED 10.0.0.1:6443")).check);
    const result = await outcome(api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE }));
    expect(result).toMatchObject({ reason: "unavailable" });
    expect((result as StoreError).message).toContain("/readyz answered nothing (TypeError)");
    expect((result as StoreError).message).not.toContain("10.0.0.1");
  });

  it("asks /readyz once for refusals that arrive together", async () => {
    const apiserver = scriptedApiserver(forbidden());
    const readyz = scriptedReadiness(WARMING_UP);
    const api = triageRefusals(apiserver.api, readyz.check);
    const results = await Promise.all(Array.from({ length: 5 }, () => outcome(api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE }))));
    expect(results.map((r) => (r as StoreError).reason)).toEqual(Array(5).fill("unavailable"));
    expect(readyz.asked()).toBe(1);
  });

  it("stops being believed after a start-up's worth of refusals, so a hidden /readyz cannot mask a missing permission", async () => {
    const time = manualTime();
    const api = triageRefusals(scriptedApiserver(forbidden()).api, scriptedReadiness(WARMING_UP).check, time);
    const read = () => outcome(api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE }));

    expect(await read()).toMatchObject({ reason: "unavailable" });
    time.advance(START_UP_WINDOW_MS - 1);
    expect(await read()).toMatchObject({ reason: "unavailable" });
    time.advance(1);
    const late = await read();
    expect(late).toMatchObject({ reason: "forbidden" });
    expect((late as StoreError).message).toContain(`may not get coordination.k8s.io/leases in namespace "${NAMESPACE}"`);
  });

  it("stays transient when another request succeeds while /readyz is being asked", async () => {
    let answerReadiness: (readiness: Readiness) => void = () => {};
    const readiness = () => new Promise<Readiness>((resolve) => (answerReadiness = resolve));
    const api = triageRefusals(scriptedApiserver(forbidden(), LEASE).api, readiness);

    const refused = outcome(api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE })).toEqual(LEASE);
    answerReadiness({ ready: false, answer: "500" });

    expect(await refused).toMatchObject({ reason: "unavailable" });
  });

  it("starts a new start-up window once the permission worked again", async () => {
    const time = manualTime();
    const apiserver = scriptedApiserver(forbidden(), LEASE, forbidden());
    const api = triageRefusals(apiserver.api, scriptedReadiness(WARMING_UP).check, time);
    const read = () => outcome(api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE }));

    expect(await read()).toMatchObject({ reason: "unavailable" });
    expect(await read()).toBe("answered");
    time.advance(10 * START_UP_WINDOW_MS);
    // A later restart: the window counts from its own first refusal.
    expect(await read()).toMatchObject({ reason: "unavailable" });
  });
});

describe("a 403 from an apiserver that is ready", () => {
  it("is retried once, and the retry's answer is the answer", async () => {
    const apiserver = scriptedApiserver(forbidden(), LEASE);
    const readyz = scriptedReadiness(READY);
    const api = triageRefusals(apiserver.api, readyz.check);

    expect(await api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE })).toEqual(LEASE);
    expect(apiserver.sent()).toBe(2);
    expect(readyz.asked()).toBe(1);
  });

  it("is a missing permission when the retry is refused too, and names it", async () => {
    const apiserver = scriptedApiserver(forbidden(), forbidden(), LEASE);
    const api = triageRefusals(apiserver.api, scriptedReadiness(READY).check);

    const result = await outcome(api.patchNamespacedLease({ name: "deploy", namespace: NAMESPACE, body: [] }), "patch");

    expect(result).toMatchObject({ reason: "forbidden" });
    expect((result as StoreError).message).toContain(`may not patch coordination.k8s.io/leases in namespace "${NAMESPACE}"`);
    expect(apiserver.sent()).toBe(2);
  });

  it("passes the retry's other failures through as they are", async () => {
    const apiserver = scriptedApiserver(forbidden(), status(409, "AlreadyExists"));
    const api = triageRefusals(apiserver.api, scriptedReadiness(READY).check);
    expect(await outcome(api.createNamespacedLease({ namespace: NAMESPACE, body: LEASE }), "create")).toMatchObject({ reason: "already_exists" });
  });

  it("is still transient when the same permission worked within a start-up window (another apiserver behind a load balancer)", async () => {
    const time = manualTime();
    const apiserver = scriptedApiserver(LEASE, forbidden(), forbidden(), forbidden(), forbidden());
    const api = triageRefusals(apiserver.api, scriptedReadiness(READY).check, time);
    const read = () => outcome(api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE }));

    expect(await read()).toBe("answered");
    time.advance(5_000);
    const soon = await read();
    expect(soon).toMatchObject({ reason: "unavailable" });
    expect((soon as StoreError).message).toContain("allowed the same 5 s earlier");
    time.advance(START_UP_WINDOW_MS);
    expect(await read()).toMatchObject({ reason: "forbidden" });
  });

  it("proves a permission by answers only a request past authorization gets, such as NotFound", async () => {
    const apiserver = scriptedApiserver(status(404, "NotFound"), forbidden(), forbidden());
    const api = triageRefusals(apiserver.api, scriptedReadiness(READY).check);
    const read = () => outcome(api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE }));

    expect(await read()).toMatchObject({ reason: "not_found" });
    expect(await read()).toMatchObject({ reason: "unavailable" });
  });

  it("is a missing watch permission when the retried watch is refused too, and names it", async () => {
    const apiserver = scriptedApiserver(forbidden(), forbidden());
    const api = triageRefusals(apiserver.api, scriptedReadiness(READY).check);
    const signal = new AbortController().signal;
    const result = await outcome(api.watchLease({ namespace: NAMESPACE, name: "deploy", resourceVersion: "7", signal }), "watch");
    expect(result).toMatchObject({ reason: "forbidden" });
    expect((result as StoreError).message).toContain(`may not watch coordination.k8s.io/leases in namespace "${NAMESPACE}"`);
    expect(apiserver.sent()).toBe(2);
  });

  it("keeps permissions apart: a working read proves nothing about create", async () => {
    const apiserver = scriptedApiserver(LEASE, forbidden());
    const api = triageRefusals(apiserver.api, scriptedReadiness(READY).check);
    expect(await api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE })).toEqual(LEASE);
    expect(await outcome(api.createNamespacedLease({ namespace: NAMESPACE, body: LEASE }), "create")).toMatchObject({ reason: "forbidden" });
  });
});

describe("answers other than 403", () => {
  it.each([
    [409, "Conflict", "conflict"],
    [500, "InternalError", "unavailable"],
    [429, "TooManyRequests", "unavailable"],
  ])("are neither retried nor checked against /readyz (%i)", async (code, reason, storeReason) => {
    const apiserver = scriptedApiserver(status(code, reason), LEASE);
    const readyz = scriptedReadiness(READY);
    const api = triageRefusals(apiserver.api, readyz.check);
    expect(await outcome(api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE }))).toMatchObject({ reason: storeReason });
    expect(apiserver.sent()).toBe(1);
    expect(readyz.asked()).toBe(0);
  });
});

describe("the fetch transport (Workers, and Node with `kubernetes.server`)", () => {
  it("asks the apiserver's /readyz with the same credentials and headers as the refused request", async () => {
    const seen: Array<{ url: string; authorization: string | null; access: string | null }> = [];
    const api = fetchLeaseApi({
      server: "https://kube.example.test/",
      bearerToken: "sa-token",
      headers: { "cf-access-client-id": "client-id" },
      timeoutMs: 1_000,
      fetch: async (url, init) => {
        const headers = new Headers(init.headers);
        seen.push({ url, authorization: headers.get("authorization"), access: headers.get("cf-access-client-id") });
        const warmingUp = { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Forbidden", code: 403 };
        return new Response(JSON.stringify(warmingUp), { status: url.endsWith("/readyz") ? 500 : 403, headers: { "content-type": "application/json" } });
      },
    });

    expect(await outcome(api.readNamespacedLease({ name: "deploy", namespace: NAMESPACE }))).toMatchObject({ reason: "unavailable" });
    expect(seen).toEqual([
      { url: `https://kube.example.test/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/deploy`, authorization: "Bearer sa-token", access: "client-id" },
      { url: "https://kube.example.test/readyz", authorization: "Bearer sa-token", access: "client-id" },
    ]);
  });
});
