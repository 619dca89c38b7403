import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Action } from "../config/schema.ts";
import { AuthError } from "../auth/caller.ts";
import { LockError } from "../locks/lock-errors.ts";
import type { AppDeps, AppEnv } from "./app-env.ts";
import {
  AcquireBody,
  GrantSchema,
  IdempotencyHeader,
  ListQuery,
  LockListSchema,
  LockNameParam,
  LeaveBody,
  LeftSchema,
  LockStateSchema,
  ProblemSchema,
  ReleaseBody,
  ReleasedSchema,
  RenewBody,
  VerifiedSchema,
  VerifyBody,
} from "./schemas.ts";
import { grantBody, stateBody } from "./serialize.ts";

const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
const problems = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, { description: "Problem", content: { "application/problem+json": { schema: ProblemSchema } } }]));
const security = [{ bearer: [] }];

const acquireRoute = createRoute({
  method: "post",
  path: "/locks/{name}/acquire",
  summary: "Acquire a lock",
  security,
  request: { params: LockNameParam, headers: IdempotencyHeader, body: { ...json(AcquireBody), required: false } },
  responses: { 200: { description: "Granted", ...json(GrantSchema) }, ...problems(400, 401, 403, 409, 502, 503) },
});

const leaveRoute = createRoute({
  method: "post",
  path: "/locks/{name}/leave",
  summary: "Give up a place in the lock's line",
  description: "Names the place by the `ticket` of the last 409, or by the Idempotency-Key the waiting requests carried. The next in line is granted at once if the lock is free.",
  security,
  request: { params: LockNameParam, headers: IdempotencyHeader, body: { ...json(LeaveBody), required: false } },
  responses: { 200: { description: "Left, or had no place", ...json(LeftSchema) }, ...problems(400, 401, 403, 502, 503) },
});

const renewRoute = createRoute({
  method: "post",
  path: "/locks/{name}/renew",
  summary: "Extend a grant; the fencing token stays the same",
  security,
  request: { params: LockNameParam, body: { ...json(RenewBody), required: true } },
  responses: { 200: { description: "Renewed", ...json(GrantSchema) }, ...problems(400, 401, 403, 409, 502, 503) },
});

const releaseRoute = createRoute({
  method: "post",
  path: "/locks/{name}/release",
  summary: "Release a grant; repeating it is harmless",
  security,
  request: { params: LockNameParam, body: { ...json(ReleaseBody), required: true } },
  responses: { 200: { description: "Released, or already over", ...json(ReleasedSchema) }, ...problems(400, 401, 403, 409, 502, 503) },
});

const verifyRoute = createRoute({
  method: "post",
  path: "/locks/{name}/verify",
  summary: "Whether the grant with this fencing token holds the lock now",
  description:
    "For a resource that can ask but cannot keep the highest fencing token it has seen. A point-in-time answer: the grant " +
    "can end right after it. A resource that stores the highest token and refuses smaller ones is protected without asking.",
  security,
  request: { params: LockNameParam, body: { ...json(VerifyBody), required: true } },
  responses: { 200: { description: "The answer", ...json(VerifiedSchema) }, ...problems(400, 401, 403, 404, 502, 503) },
});

const stateRoute = createRoute({
  method: "get",
  path: "/locks/{name}",
  summary: "A lock's state (no token)",
  security,
  request: { params: LockNameParam },
  responses: { 200: { description: "State", ...json(LockStateSchema) }, ...problems(400, 401, 403, 404, 502, 503) },
});

const forceReleaseRoute = createRoute({
  method: "delete",
  path: "/locks/{name}",
  summary: "Force-release a lock (admin); the actor is recorded on the Lease",
  security,
  request: { params: LockNameParam },
  responses: { 200: { description: "Released", ...json(ReleasedSchema) }, ...problems(400, 401, 403, 404, 502, 503) },
});

const listRoute = createRoute({
  method: "get",
  path: "/locks",
  summary: "List locks the caller may read, a page at a time",
  description: "Pages can hold fewer than `limit` items (locks outside the prefix or the caller's read rights are left out): follow `continue` until it is absent.",
  security,
  request: { query: ListQuery },
  responses: { 200: { description: "A page", ...json(LockListSchema) }, ...problems(400, 401, 403, 502, 503) },
});

export function registerLockRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { config, policy } = deps;
  const ns = config.namespace;
  const authorize = (c: Context<AppEnv>, action: Action, name: string) => {
    if (!policy.allows(c.get("caller"), action, name)) throw new AuthError("forbidden", `${action} ${name} denied`);
  };

  app.openapi(acquireRoute, async (c) => {
    const { name } = c.req.valid("param");
    authorize(c, "acquire", name);
    const body = c.req.valid("json") ?? {};
    const caller = c.get("caller");
    const grant = await c.get("locks").acquire({
      name,
      subject: caller.subject,
      issuer: caller.issuer,
      label: body.holder,
      ttlSeconds: Math.min(body.ttlSeconds ?? config.defaultTtlSeconds, config.maxTtlSeconds),
      metadata: body.metadata ?? {},
      idempotencyKey: c.req.valid("header")["idempotency-key"],
      waitMs: Math.min(body.waitSeconds ?? 0, config.maxWaitSeconds) * 1000,
      ticket: body.ticket,
      // A caller that hangs up stops waiting.
      signal: c.req.raw.signal,
    });
    c.header("fencing-token", grant.fencingToken);
    return c.json(grantBody(grant, ns), 200);
  });

  app.openapi(leaveRoute, async (c) => {
    const { name } = c.req.valid("param");
    authorize(c, "acquire", name);
    const caller = c.get("caller");
    const ticket = (c.req.valid("json") ?? {}).ticket;
    const idempotencyKey = c.req.valid("header")["idempotency-key"];
    if (ticket === undefined && idempotencyKey === undefined) {
      throw new HTTPException(400, { message: "name the place to give up: a `ticket` in the body, or the waiting requests' Idempotency-Key" });
    }
    return c.json(await c.get("locks").leave({ name, subject: caller.subject, issuer: caller.issuer, ticket, idempotencyKey }), 200);
  });

  app.openapi(renewRoute, async (c) => {
    const { name } = c.req.valid("param");
    authorize(c, "renew", name);
    const { token, ttlSeconds } = c.req.valid("json");
    const grant = await c.get("locks").renew(name, token, ttlSeconds === undefined ? undefined : Math.min(ttlSeconds, config.maxTtlSeconds));
    c.header("fencing-token", grant.fencingToken);
    return c.json(grantBody(grant, ns), 200);
  });

  app.openapi(releaseRoute, async (c) => {
    const { name } = c.req.valid("param");
    authorize(c, "release", name);
    return c.json(await c.get("locks").release(name, c.req.valid("json").token), 200);
  });

  app.openapi(verifyRoute, async (c) => {
    const { name } = c.req.valid("param");
    authorize(c, "read", name);
    const verified = await c.get("locks").verify(name, c.req.valid("json").fencingToken);
    return c.json({ live: verified.live, expiresAt: verified.expiresAt?.toISOString() }, 200);
  });

  app.openapi(stateRoute, async (c) => {
    const { name } = c.req.valid("param");
    authorize(c, "read", name);
    const state = await c.get("locks").state(name);
    if (!state) throw new LockError("not_found", `no lock named ${name}`);
    return c.json(stateBody(state, ns), 200);
  });

  app.openapi(forceReleaseRoute, async (c) => {
    const { name } = c.req.valid("param");
    authorize(c, "admin", name);
    const caller = c.get("caller");
    const result = await c.get("locks").forceRelease(name, { subject: caller.subject, issuer: caller.issuer });
    deps.log?.({ level: "warn", msg: "lock force-released", lock: name, actor: caller.subject, issuer: caller.issuer, released: result.released });
    return c.json(result, 200);
  });

  app.openapi(listRoute, async (c) => {
    const { prefix, limit, continue: cursor } = c.req.valid("query");
    const caller = c.get("caller");
    if (!policy.allowsAny(caller, "read")) throw new AuthError("forbidden", "no read rights");
    // A cursor resumes only the listing it came from: where another caller's (or another prefix's) listing stopped tells where names sort that this caller may not read.
    const scope = JSON.stringify([caller.issuer, caller.subject, prefix ?? ""]);
    const page = await c.get("locks").list(limit, cursor, scope);
    const items = page.items.filter((s) => (!prefix || s.name.startsWith(prefix)) && policy.allows(caller, "read", s.name));
    return c.json({ items: items.map((s) => stateBody(s, ns)), continue: page.cursor }, 200);
  });
}
