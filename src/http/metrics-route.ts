import type { OpenAPIHono } from "@hono/zod-openapi";
import { metricsBearerCheck } from "../metrics/metrics-bearer.ts";
import { EXPOSITION_CONTENT_TYPE } from "../metrics/registry.ts";
import type { AppEnv, MetricsEndpoint } from "./app-env.ts";
import { problem } from "./problem.ts";

/**
 * `GET /metrics` on the API's own listener, only for a scraper that shows the bearer secret:
 * the numbers say how busy which routes are and which tokens fail, which is nobody else's
 * business. (On Node a separate listener can serve them instead, see src/node/metrics-listener.ts.)
 */
export function registerMetricsRoute(app: OpenAPIHono<AppEnv>, endpoint: MetricsEndpoint | undefined): void {
  if (!endpoint) return;
  const authorized = metricsBearerCheck(endpoint.bearerToken);
  app.get("/metrics", async (c) => {
    if (!authorized(c.req.header("authorization"))) return problem(c, "unauthenticated");
    return c.body(await endpoint.expose(), 200, { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" });
  });
}
