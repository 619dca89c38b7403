import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, Next } from "hono";
import { semaphoreLimits } from "../config/semaphore-limits.ts";
import { systemClock } from "../locks/clock.ts";
import { countingStore } from "../locks/counting-store.ts";
import { LockService } from "../locks/lock-service.ts";
import { StoreError } from "../locks/lock-store.ts";
import type { LockEvent } from "../locks/lock-events.ts";
import type { AppDeps, AppEnv } from "./app-env.ts";
import { setAnswerHeaders } from "./answer-headers.ts";
import { backgroundOf } from "./background.ts";
import { errorResponse } from "./errors.ts";
import { registerHealthRoutes } from "./health-routes.ts";
import { registerHistoryRoutes } from "./history-routes.ts";
import { registerLockRoutes } from "./lock-routes.ts";
import { registerMetricsRoute } from "./metrics-route.ts";
import { httpMetrics } from "../metrics/http-metrics.ts";
import { problem } from "./problem.ts";
import { readRequestBody } from "./request-body.ts";
import { requestPath } from "./request-path.ts";
import { registerStatusPage } from "../ui/status-page.ts";

const MAX_BODY_BYTES = 16 * 1024;

/** The whole HTTP API, independent of the runtime that serves it. */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? (() => {});
  const maxHolders = semaphoreLimits(deps.config.semaphores);
  const onWatchFailure = oncePerReason(log);

  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return problem(c, "invalid_request", {
          detail: "the request does not match the API",
          errors: result.error.issues.map((i) => ({ path: [result.target, ...i.path].join("."), message: i.message })),
        });
      }
    },
  });

  // First, so that it sees every answer, after the error mapping.
  if (deps.metrics) app.use(httpMetrics(deps.metrics));

  if (deps.config.accessLog) {
    app.use(async (c, next) => {
      const started = Date.now();
      await next();
      const caller = c.get("caller");
      log({
        level: "info",
        msg: "request",
        method: c.req.method,
        path: requestPath(c.req.url),
        status: c.res.status,
        ms: Date.now() - started,
        subject: caller?.subject,
        issuer: caller?.issuer,
      });
    });
  }

  // Registered once: "/locks/*" also matches "/locks", so every request is authenticated (and its requests counted) once.
  app.use("/locks/*", authenticate);

  registerHealthRoutes(app, deps);
  registerLockRoutes(app, deps);
  registerHistoryRoutes(app, deps);
  registerMetricsRoute(app, deps.metricsEndpoint);
  registerStatusPage(app, deps);

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "leasegate",
      version: "1",
      description: "Distributed locks on Kubernetes Leases with fencing tokens. Errors are RFC 9457 problem documents.",
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", bearerFormat: "JWT" });

  app.notFound((c) => problem(c, "not_found"));
  app.onError((err, c) => errorResponse(err, c, log));
  return app;

  /**
   * The body is read first, once, so that one too large (or cut off) is refused before anything
   * else, also to a caller that is not authenticated; one that is not UTF-8 is refused only to a
   * caller who may send one at all, with the headers of every answer that got that far.
   */
  async function authenticate(c: Context<AppEnv>, next: Next) {
    const body = await readRequestBody(c, MAX_BODY_BYTES);
    if (body === "too_large") return problem(c, "payload_too_large");
    if (body === "unreadable") {
      return problem(c, "invalid_request", { detail: "the request body could not be read to its end", errors: [{ path: "body", message: "ended before it was complete" }] });
    }
    const caller = await deps.authenticator.authenticate(c.req.header("authorization"));
    c.set("caller", caller);
    const counted = countingStore(deps.store);
    const events: LockEvent[] = [];
    c.set(
      "locks",
      new LockService({
        store: counted.store,
        clock,
        tokens: deps.tokens,
        cursors: deps.cursors,
        namespace: deps.config.namespace,
        skewAllowanceSeconds: deps.config.skewAllowanceSeconds,
        ticketTtlSeconds: deps.config.queueTicketTtlSeconds,
        maxHolders,
        onWatchFailure,
        events: (event) => events.push(event),
      }),
    );
    try {
      if (body === "not_utf8") {
        c.res = problem(c, "invalid_request", {
          detail: "the request body is not valid UTF-8",
          errors: [{ path: "json", message: "must be encoded as UTF-8" }],
        });
      } else {
        await next();
      }
    } finally {
      // How many Kubernetes requests this call cost, for clients, tests and benchmarks alike.
      setAnswerHeaders(c, { "server-timing": `kube;desc="${counted.count()} requests"`, "cache-control": "no-store" });
      if (events.length > 0 && deps.onLockEvents) {
        try {
          deps.onLockEvents(events, { caller, background: backgroundOf(c) });
        } catch (err) {
          log({ level: "error", msg: "lock events could not be handed on", error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
  }
}

/**
 * Waiting without a watch still works (a read every second) but costs the apiserver more and
 * hands over later, so the operator hears of it: once per kind of failure, not once per wait.
 */
function oncePerReason(log: (entry: Record<string, unknown>) => void): (err: unknown) => void {
  const told = new Set<string>();
  return (err) => {
    const reason = err instanceof StoreError ? err.reason : err instanceof Error ? err.name : "unknown";
    if (told.has(reason)) return;
    told.add(reason);
    log({ level: "warn", msg: "waiting cannot watch Leases and reads them every second instead", reason, detail: err instanceof Error ? err.message : String(err) });
  };
}
