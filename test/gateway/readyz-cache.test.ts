import { OpenAPIHono } from "@hono/zod-openapi";
import { beforeEach, describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/http/app-env.ts";
import { registerHealthRoutes } from "../../src/http/health-routes.ts";
import { type ListPage, StoreError } from "../../src/locks/lock-store.ts";
import { FakeClock } from "../support/fake-clock.ts";

/**
 * The gateway's /readyz is unauthenticated and each check costs one apiserver LIST, so anyone
 * could make the gateway hammer Kubernetes through it. One check serves every caller for about a
 * second, and what the backend said stays in the log.
 */

/** A store whose `list` is counted and answers only when the test says so. */
function controlledStore() {
  const pending: Array<{ resolve: (page: ListPage) => void; reject: (err: unknown) => void }> = [];
  let lists = 0;
  return {
    store: {
      list: () =>
        new Promise<ListPage>((resolve, reject) => {
          lists++;
          pending.push({ resolve, reject });
        }),
    },
    lists: () => lists,
    answer: () => pending.splice(0).forEach((p) => p.resolve({ items: [] })),
    fail: (err: unknown) => pending.splice(0).forEach((p) => p.reject(err)),
  };
}

let clock: FakeClock;
let backend: ReturnType<typeof controlledStore>;
let logs: Array<Record<string, unknown>>;
let app: OpenAPIHono<AppEnv>;

beforeEach(() => {
  clock = new FakeClock();
  backend = controlledStore();
  logs = [];
  app = new OpenAPIHono<AppEnv>();
  registerHealthRoutes(app, { store: backend.store, clock, log: (entry) => logs.push(entry) });
});

/** Sends GET /readyz and lets the app run up to the point where it waits for the store. */
async function probe(): Promise<{ response: Promise<Response> }> {
  const response = Promise.resolve(app.request("/readyz"));
  await new Promise((resolve) => setTimeout(resolve, 0));
  return { response };
}

describe("GET /readyz", () => {
  it("shares one check among concurrent callers", async () => {
    const probes = await Promise.all(Array.from({ length: 20 }, () => probe()));
    expect(backend.lists()).toBe(1);
    backend.answer();
    const statuses = await Promise.all(probes.map(async ({ response }) => (await response).status));
    expect(statuses).toEqual(Array(20).fill(200));
  });

  it("reuses an answer for about a second, then checks again", async () => {
    const first = await probe();
    backend.answer();
    expect((await first.response).status).toBe(200);

    clock.advance(0.9);
    expect((await (await probe()).response).status).toBe(200);
    expect(backend.lists()).toBe(1);

    clock.advance(0.2);
    const later = await probe();
    expect(backend.lists()).toBe(2);
    backend.fail(new StoreError("unavailable", "the Kubernetes API answered 503"));
    expect((await later.response).status).toBe(503);
  });

  it("does not keep an answer alive when the clock is stepped back", async () => {
    const first = await probe();
    backend.answer();
    await first.response;
    clock.advance(-3600);
    const again = await probe();
    expect(backend.lists()).toBe(2);
    backend.answer();
    expect((await again.response).status).toBe(200);
  });

  it("answers 503 with Retry-After and a fixed detail, and logs what the backend said", async () => {
    const pending = await probe();
    backend.fail(new StoreError("unavailable", "the Kubernetes API at https://10.0.0.1:6443 could not be reached (list leases)"));
    const res = await pending.response;
    const text = await res.text();

    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(JSON.parse(text)).toMatchObject({ code: "backend_unavailable", detail: "the Kubernetes API is not usable right now" });
    expect(text).not.toContain("10.0.0.1");
    expect(JSON.stringify(logs)).toContain("https://10.0.0.1:6443 could not be reached");
  });

  it("answers 502 backend_forbidden without naming namespace or permission to the caller", async () => {
    const pending = await probe();
    backend.fail(new StoreError("forbidden", 'the gateway\'s Kubernetes identity may not list coordination.k8s.io/leases in namespace "payments-prod"'));
    const res = await pending.response;
    const text = await res.text();

    expect(res.status).toBe(502);
    expect(JSON.parse(text)).toMatchObject({ code: "backend_forbidden" });
    expect(text).not.toContain("payments-prod");
    expect(JSON.stringify(logs)).toContain("payments-prod");
  });

  it("answers 503 for a store failure that is not a StoreError, without its text", async () => {
    const pending = await probe();
    backend.fail(new Error("socket hang up at 10.0.0.1"));
    const res = await pending.response;
    expect(res.status).toBe(503);
    expect(await res.text()).not.toContain("10.0.0.1");
  });
});
