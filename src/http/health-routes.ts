import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { StoreError } from "../locks/lock-store.ts";
import type { AppDeps, AppEnv } from "./app-env.ts";
import { problem } from "./problem.ts";

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness: the process serves requests",
  responses: { 200: { description: "Alive", content: { "application/json": { schema: z.object({ ok: z.boolean() }) } } } },
});

const readyRoute = createRoute({
  method: "get",
  path: "/readyz",
  summary: "Readiness: the Kubernetes API answers with the gateway's credentials",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: z.object({ ok: z.boolean() }) } } },
    503: { description: "Not ready" },
  },
});

export function registerHealthRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(healthRoute, (c) => c.json({ ok: true }, 200));
  app.openapi(readyRoute, async (c) => {
    try {
      await deps.store.list({ limit: 1 });
      return c.json({ ok: true }, 200);
    } catch (err) {
      const detail = err instanceof StoreError ? err.message : "the lock store failed";
      deps.log?.({ level: "warn", msg: "not ready", detail });
      return problem(c, err instanceof StoreError && err.reason === "forbidden" ? "backend_forbidden" : "backend_unavailable", {
        detail,
        retryAfterSeconds: 1,
      }) as never;
    }
  });
}
