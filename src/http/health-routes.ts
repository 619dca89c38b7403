import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { systemClock } from "../locks/clock.ts";
import { type LockStore, StoreError } from "../locks/lock-store.ts";
import type { AppDeps, AppEnv } from "./app-env.ts";
import { problem, type ProblemCode } from "./problem.ts";

/**
 * How long one readiness answer is reused. `/readyz` is unauthenticated and each check costs an
 * apiserver LIST; probes and load balancers call it often, and anyone can.
 */
const READINESS_REUSE_MS = 1_000;

/** Callers of the unauthenticated `/readyz` learn only this; the backend's own words go to the log. */
const NOT_READY_DETAIL: Record<"backend_forbidden" | "backend_unavailable", string> = {
  backend_forbidden: "the gateway's Kubernetes identity was refused; the gateway's log says which permission",
  backend_unavailable: "the Kubernetes API is not usable right now",
};

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness: the process serves requests",
  responses: { 200: { description: "Alive", content: { "application/json": { schema: z.object({ ok: z.boolean() }) } } } },
});

const readyRoute = createRoute({
  method: "get",
  path: "/readyz",
  summary: "Readiness: the Kubernetes API answers with the gateway's credentials (checked at most about once a second)",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: z.object({ ok: z.boolean() }) } } },
    502: { description: "The gateway's Kubernetes identity lacks a permission" },
    503: { description: "Not ready" },
  },
});

type ReadinessOutcome = { ready: true } | { ready: false; code: "backend_forbidden" | "backend_unavailable" };

/** Readiness needs only one call of the store. */
export type HealthDeps = { store: Pick<LockStore, "list"> } & Pick<AppDeps, "clock" | "log">;

export function registerHealthRoutes(app: OpenAPIHono<AppEnv>, deps: HealthDeps): void {
  const clock = deps.clock ?? systemClock;
  /** The check in flight, or the last one's outcome while it may still be reused. */
  let latest: { outcome: Promise<ReadinessOutcome>; settledAt?: number } | undefined;

  const check = async (): Promise<ReadinessOutcome> => {
    try {
      await deps.store.list({ limit: 1 });
      return { ready: true };
    } catch (err) {
      const code: ProblemCode = err instanceof StoreError && err.reason === "forbidden" ? "backend_forbidden" : "backend_unavailable";
      deps.log?.({ level: "warn", msg: "not ready", code, detail: err instanceof StoreError ? err.message : "the lock store failed" });
      return { ready: false, code };
    }
  };

  const readiness = (): Promise<ReadinessOutcome> => {
    const now = clock.now().getTime();
    // A clock stepped backwards must not keep an old answer alive.
    const fresh = latest && (latest.settledAt === undefined || (now >= latest.settledAt && now - latest.settledAt < READINESS_REUSE_MS));
    if (fresh) return latest!.outcome;
    const current: NonNullable<typeof latest> = {
      outcome: check().then((outcome) => {
        current.settledAt = clock.now().getTime();
        return outcome;
      }),
    };
    latest = current;
    return current.outcome;
  };

  app.openapi(healthRoute, (c) => c.json({ ok: true }, 200));
  app.openapi(readyRoute, async (c) => {
    const outcome = await readiness();
    if (outcome.ready) return c.json({ ok: true }, 200);
    const retryAfterSeconds = outcome.code === "backend_unavailable" ? 1 : undefined;
    return problem(c, outcome.code, { detail: NOT_READY_DETAIL[outcome.code], retryAfterSeconds }) as never;
  });
}
