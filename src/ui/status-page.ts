import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppDeps, AppEnv } from "../http/app-env.ts";
import { PROBLEMS, problem, type ProblemCode } from "../http/problem.ts";
import { systemClock } from "../locks/clock.ts";
import { lockNameProblem } from "../locks/lock-name.ts";
import { type Asset, SCRIPT, STYLE } from "./assets/assets.ts";
import { holdsFingerprint } from "./holds.ts";
import { type ApiProblem, LockApi } from "./lock-api.ts";
import { lockView, type LockView } from "./lock-view.ts";
import { statusPageSecurityHeaders } from "./security-headers.ts";
import { sameOriginProblem } from "./same-origin.ts";
import { identifyViewer, type Viewer } from "./viewer.ts";
import { html, type Html } from "./views/html.ts";
import { page } from "./views/layout.ts";
import { lockDetailFragment } from "./views/lock-detail.ts";
import { lockListFragment } from "./views/lock-list.ts";
import { problemNotice } from "./views/problem-notice.ts";

/**
 * How often an open page asks for fresh state. An update costs the apiserver what the JSON API
 * call behind it costs (`GET /locks`, page by page, or `GET /locks/{name}`), and says so in
 * `Server-Timing` as the API does; docs/status-page.md has the numbers.
 */
export const REFRESH_INTERVAL_MS = 5000;

const MAX_FORCE_RELEASE_BODY_BYTES = 1024;

/**
 * The status page under /ui: locks, holders, countdowns and queues for people, server-rendered
 * HTML with a small script for live updates. Everything it shows comes from the JSON API, called
 * in-process with the viewer's own credential, so it shows nothing the API would not.
 */
export function registerStatusPage(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const clock = deps.clock ?? systemClock;
  const apiFor = (viewer: Viewer) => new LockApi((request) => app.fetch(request), viewer.authorization);

  app.use("/ui/*", statusPageSecurityHeaders);

  for (const asset of [SCRIPT, STYLE]) app.get(asset.path, (c) => serveAsset(c, asset));
  app.get("/ui/", (c) => c.redirect(`/ui${new URL(c.req.url).search}`, 308));

  app.get("/ui", async (c) => {
    const prefix = c.req.query("prefix") ?? "";
    const fragmentUrl = `/ui/fragments/locks${prefix === "" ? "" : `?prefix=${encodeURIComponent(prefix)}`}`;
    const intro = html`<h1>Locks</h1>
<form class="filter" method="get" action="/ui" role="search">
<label for="prefix">Name starts with</label>
<input id="prefix" name="prefix" value="${prefix}" maxlength="253" autocapitalize="none" autocomplete="off" spellcheck="false" title="Lower-case letters, digits, '-' and '.'">
<button type="submit">Filter</button>
</form>`;
    return renderPage(c, { title: "Locks", intro, fragmentUrl }, (viewer) => listFragment(c, viewer, prefix));
  });

  app.get("/ui/locks/:name", async (c) => {
    const name = c.req.param("name");
    if (lockNameProblem(name) !== null) return badLockName(c, name);
    const intro = html`<p class="breadcrumb"><a href="/ui">← All locks</a></p>
<h1><span class="visually-hidden">Lock </span>${name}</h1>`;
    return renderPage(c, { title: name, intro, fragmentUrl: `/ui/fragments/locks/${encodeURIComponent(name)}` }, (viewer) => detailFragment(c, viewer, name));
  });

  app.get("/ui/fragments/locks", (c) => renderFragment(c, (viewer) => listFragment(c, viewer, c.req.query("prefix") ?? "")));

  app.get("/ui/fragments/locks/:name", (c) => {
    const name = c.req.param("name");
    if (lockNameProblem(name) !== null) return c.html(problemNotice({ status: 400, code: "invalid_request", detail: "not a lock name" }, { lock: name }), 400);
    return renderFragment(c, (viewer) => detailFragment(c, viewer, name));
  });

  app.post(
    "/ui/locks/:name/force-release",
    bodyLimit({ maxSize: MAX_FORCE_RELEASE_BODY_BYTES, onError: (c) => problem(c, "payload_too_large") }),
    async (c) => {
      const name = c.req.param("name");
      const refusal = sameOriginProblem(c);
      if (refusal === "cross_site") return problem(c, "forbidden");
      if (refusal === "not_json") return problem(c, "unsupported_media_type");
      const identified = await identifyViewer(c, deps.authenticator);
      if (identified.kind !== "viewer") return problem(c, "unauthenticated");
      c.set("caller", identified.caller);
      // The JSON API decides again; asking first spares a caller without the right an apiserver read.
      if (!deps.policy.allows(identified.caller, "admin", name)) return problem(c, "forbidden");
      const expected = await expectedHolds(c);
      if (expected === null) return problem(c, "invalid_request", { detail: "the body must be a JSON object whose `holds` names the holds the page showed" });

      const api = apiFor(identified);
      // The confirmation named the holders: release only their holds, not ones that took their place meanwhile.
      const current = await api.state(name);
      if (!current.ok) return withKubeRequests(apiProblem(c, current.problem), current.kubeRequests);
      const lock = lockView(current.value);
      if (!lock || lock.status === "free") return withKubeRequests(c.json({ released: false }), current.kubeRequests);
      if (holdsFingerprint(lock) !== expected) return withKubeRequests(c.json({ released: false, holderChanged: true }), current.kubeRequests);
      const released = await api.forceRelease(name);
      const kubeRequests = current.kubeRequests + released.kubeRequests;
      if (!released.ok) return withKubeRequests(apiProblem(c, released.problem), kubeRequests);
      return withKubeRequests(c.json(released.value), kubeRequests);
    },
  );

  interface Rendered {
    status: number;
    body: Html;
    kubeRequests: number;
  }

  async function listFragment(c: Context, viewer: Viewer, prefix: string): Promise<Rendered> {
    const answer = await apiFor(viewer).list(prefix);
    if (!answer.ok) return { status: answer.problem.status, body: problemNotice(answer.problem, {}), kubeRequests: answer.kubeRequests };
    const locks = answer.value.items.map(lockView).filter((lock): lock is LockView => lock !== null);
    const body = lockListFragment({
      viewer: viewer.caller,
      serverNow: clock.now(),
      prefix,
      locks,
      complete: answer.value.complete,
      canForceRelease: (name) => deps.policy.allows(viewer.caller, "admin", name),
    });
    c.set("caller", viewer.caller);
    return { status: 200, body, kubeRequests: answer.kubeRequests };
  }

  async function detailFragment(c: Context, viewer: Viewer, name: string): Promise<Rendered> {
    const answer = await apiFor(viewer).state(name);
    const lock = answer.ok ? lockView(answer.value) : null;
    if (!answer.ok || !lock) {
      const failure: ApiProblem = answer.ok ? { status: 502, code: "backend_invalid" } : answer.problem;
      return { status: failure.status, body: problemNotice(failure, { lock: name }), kubeRequests: answer.kubeRequests };
    }
    c.set("caller", viewer.caller);
    const body = lockDetailFragment({ viewer: viewer.caller, serverNow: clock.now(), lock, canForceRelease: deps.policy.allows(viewer.caller, "admin", name) });
    return { status: 200, body, kubeRequests: answer.kubeRequests };
  }

  /**
   * A page: rendered with its data when the request itself carries a verified identity (Cloudflare
   * Access), else the shell whose script asks for a token and fetches the same fragment with it.
   */
  async function renderPage(c: Context, shell: { title: string; intro: Html; fragmentUrl: string }, render: (viewer: Viewer) => Promise<Rendered>) {
    const common = { ...shell, refreshMs: REFRESH_INTERVAL_MS, assets: { script: SCRIPT.path, style: STYLE.path } };
    const identified = await identifyViewer(c, deps.authenticator);
    if (identified.kind === "anonymous") return c.html(page({ ...common, auth: "token" }), 200);
    if (identified.kind === "refused") {
      const notice = html`<div class="notice notice-error"><p>This request carried a sign-in the gateway did not accept (expired, or from an issuer it does not trust). Paste a token instead, or ask for the issuer to be configured.</p></div>`;
      c.header("www-authenticate", 'Bearer realm="leasegate"');
      return c.html(page({ ...common, auth: "token", notice }), 401);
    }
    const rendered = await render(identified);
    c.header("server-timing", kubeTiming(rendered.kubeRequests));
    const content = rendered.status === 200 ? { live: rendered.body } : { notice: rendered.body };
    return c.html(page({ ...common, auth: "request", ...content }), rendered.status as 200);
  }

  async function renderFragment(c: Context, render: (viewer: Viewer) => Promise<Rendered>) {
    const identified = await identifyViewer(c, deps.authenticator);
    if (identified.kind !== "viewer") {
      c.header("www-authenticate", 'Bearer realm="leasegate"');
      return c.html(problemNotice({ status: 401, code: "unauthenticated" }, {}), 401);
    }
    const rendered = await render(identified);
    c.header("server-timing", kubeTiming(rendered.kubeRequests));
    return c.html(rendered.body, rendered.status as 200);
  }

  function badLockName(c: Context, name: string) {
    const notice = problemNotice({ status: 400, code: "invalid_request", detail: "not a lock name" }, { lock: name });
    return c.html(html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Not a lock name · leasegate</title><link rel="icon" href="data:,"><link rel="stylesheet" href="${STYLE.path}"></head><body><main><p><a href="/ui">← All locks</a></p>${notice}</main></body></html>`, 400);
  }
}

function serveAsset(c: Context, asset: Asset): Response {
  return c.body(asset.body, 200, { "content-type": asset.contentType, "cache-control": "public, max-age=31536000, immutable" });
}

/** The same measure the JSON API reports: how many Kubernetes requests this response cost. */
function kubeTiming(count: number): string {
  return `kube;desc="${count} requests"`;
}

function withKubeRequests(response: Response, count: number): Response {
  response.headers.set("server-timing", kubeTiming(count));
  return response;
}

/** The JSON API's own problem, passed on as it was answered. */
function apiProblem(c: Context, failure: ApiProblem): Response {
  const code = (failure.code in PROBLEMS ? failure.code : "internal") as ProblemCode;
  return problem(c, code, { detail: failure.detail, retryAfterSeconds: failure.retryAfterSeconds, ...(failure.errors && { errors: failure.errors }) });
}

async function expectedHolds(c: Context): Promise<string | null> {
  const body = (await c.req.json().catch(() => null)) as { holds?: unknown } | null;
  return typeof body === "object" && body !== null && typeof body.holds === "string" ? body.holds : null;
}
