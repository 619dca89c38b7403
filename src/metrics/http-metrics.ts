import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { AuthError } from "../auth/caller.ts";
import { backgroundOf } from "../http/background.ts";
import { LockError } from "../locks/lock-errors.ts";
import type { GatewayMetrics, LockOperation } from "./gateway-metrics.ts";
import { type JwtRejection, jwtRejectionOf } from "./jwt-rejection.ts";

/** The lock API's routes, as Hono names them, and the operation each method is. */
const OPERATIONS: ReadonlyMap<string, Readonly<Partial<Record<string, LockOperation>>>> = new Map<string, Partial<Record<string, LockOperation>>>([
  ["/locks/:name/acquire", { POST: "acquire" }],
  ["/locks/:name/leave", { POST: "leave" }],
  ["/locks/:name/renew", { POST: "renew" }],
  ["/locks/:name/release", { POST: "release" }],
  ["/locks/:name/verify", { POST: "verify" }],
  ["/locks/:name", { GET: "state", DELETE: "force_release" }],
  ["/locks", { GET: "list" }],
  ["/locks/:name/history", { GET: "history" }],
]);

const METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Counts every request by route, method and status, how long it took, and what it did to a lock.
 * Registered first, it sees the answer after the error mapping: a failure thrown anywhere below
 * is in `c.error` by then. Per request it reads a clock twice and bumps a few numbers.
 */
export function httpMetrics(metrics: GatewayMetrics): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    metrics.requestStarted();
    let failed = false;
    try {
      await next();
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      try {
        const seconds = (performance.now() - started) / 1000;
        const route = routeOf(c);
        const method = METHODS.has(c.req.method) ? c.req.method : "other";
        const status = failed ? 500 : c.res.status;
        const err = c.error;
        const jwtRejection: JwtRejection | undefined = err instanceof AuthError && err.reason === "unauthenticated" ? jwtRejectionOf(err) : undefined;
        const work = metrics.requestEnded(route, method, status, seconds, OPERATIONS.get(route)?.[method], outcomeOf(status, err), jwtRejection);
        if (work) backgroundOf(c)(work);
      } catch {
        // Counting never changes an answer.
      }
    }
  };
}

/** The route that answered: the last one matched, unless only middleware matched (no such route). */
function routeOf(c: Context): string {
  const last = matchedRoutes(c).at(-1);
  return last && last.method !== "ALL" ? last.path : "unmatched";
}

/** `ok`, or why not, in a closed set of words. */
export function outcomeOf(status: number, err: unknown): string {
  if (err instanceof LockError) return err.reason;
  if (err instanceof AuthError) return err.reason;
  if (status < 400) return "ok";
  if (status === 401) return "unauthenticated";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status < 500) return "invalid";
  return "error";
}
