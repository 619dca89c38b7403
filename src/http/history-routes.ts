import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { AuthError } from "../auth/caller.ts";
import type { AppDeps, AppEnv } from "./app-env.ts";
import { LockNameParam, ProblemSchema } from "./schemas.ts";

const HistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  continue: z.string().max(4096).optional().openapi({ description: "The `continue` value of the previous page of this lock's history." }),
});

const date = z.string().openapi({ format: "date-time" });

const HistoryEntrySchema = z
  .object({
    kind: z.enum(["acquired", "taken_over", "released", "force_released", "lost", "queue_joined", "queue_left"]).optional(),
    reason: z.string().openapi({ example: "Acquired" }),
    action: z.string().openapi({ example: "Acquire" }),
    type: z.string().openapi({ description: "Normal, or Warning for takeovers, force releases and lost renewals." }),
    note: z.string().openapi({ description: "What `kubectl events` shows: holder, subject, issuer, fencing token, durations." }),
    at: date.openapi({ description: "When it happened (the first of a series)." }),
    lastAt: date.openapi({ description: "When the last of a series happened." }),
    count: z.number().int().openapi({ description: "How many similar events (same reason and holder) this entry stands for." }),
    reportingInstance: z.string().optional(),
    holderIdentity: z.string().optional(),
    holder: z.string().optional(),
    subject: z.string().optional(),
    issuer: z.string().optional(),
    fencingToken: z.string().optional(),
    heldSeconds: z.number().optional(),
    waitedSeconds: z.number().optional(),
    previousHolder: z.string().optional(),
    by: z.object({ subject: z.string(), issuer: z.string().optional() }).optional(),
    position: z.number().int().optional(),
  })
  .openapi("HistoryEntry");

const HistoryPageSchema = z.object({ items: z.array(HistoryEntrySchema), continue: z.string().optional() }).openapi("HistoryPage");

const historyRoute = createRoute({
  method: "get",
  path: "/locks/{name}/history",
  summary: "What happened to a lock, newest first, a page at a time",
  description:
    "The lock's Kubernetes Events (`kubectl events --for lease/NAME`): grants, takeovers, releases, force releases, lost " +
    "renewals and queue changes. The apiserver keeps Events for its `--event-ttl` (1 hour by default); similar events " +
    "close together are one entry with a `count`. Some may be missing: recording is rate-bounded and never delays a lock answer.",
  security: [{ bearer: [] }],
  request: { params: LockNameParam, query: HistoryQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: HistoryPageSchema } } },
    ...Object.fromEntries(
      [400, 401, 403, 502, 503].map((s) => [s, { description: "Problem", content: { "application/problem+json": { schema: ProblemSchema } } }]),
    ),
  },
});

/** `GET /locks/:name/history`, for callers who may read the lock. */
export function registerHistoryRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const history = deps.history;
  if (!history) return;
  app.openapi(historyRoute, async (c) => {
    const { name } = c.req.valid("param");
    if (!deps.policy.allows(c.get("caller"), "read", name)) throw new AuthError("forbidden", `read ${name} denied`);
    const { limit, continue: cursor } = c.req.valid("query");
    return c.json(await history.page(name, limit, cursor), 200);
  });
}
