import type { OpenAPIHono } from "@hono/zod-openapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/http/app-env.ts";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import { CONTENT_SECURITY_POLICY } from "../../src/ui/security-headers.ts";
import { ACCESS_AUDIENCE, AUDIENCE, statusPageApp } from "./status-page-app.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * The status page over HTTP, without a browser: what each route answers whom, its headers, and
 * that caller-chosen text is escaped. The browser tests (status-page-browser.test.ts) show the
 * same pages working in Chromium against a real apiserver.
 */
let issuer: OidcIssuer;
let access: OidcIssuer;
let app: OpenAPIHono<AppEnv>;
let pipeline: string;
let ops: string;
let viewer: string;
let accessOps: string;

const HOSTILE_LABEL = `<img src=x onerror="alert(1)">&'"`;

beforeAll(async () => {
  [issuer, access] = await Promise.all([startOidcIssuer({ defaultAudience: AUDIENCE }), startOidcIssuer({ defaultAudience: ACCESS_AUDIENCE })]);
  app = await statusPageApp({ issuer, access, store: new MemoryStore(), namespace: "ui-http" });
  [pipeline, ops, viewer, accessOps] = await Promise.all([
    issuer.mint({ sub: "svc-pipeline" }),
    issuer.mint({ sub: "ops" }),
    issuer.mint({ sub: "viewer" }),
    access.mint({ sub: "4f1c-user-id", email: "oncall@ops.example" }),
  ]);
});
afterAll(() => Promise.all([issuer.close(), access.close()]));

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });
const get = (path: string, headers: Record<string, string> = {}) => app.request(path, { headers });

async function acquire(lock: string, holder: string, ttlSeconds = 60): Promise<{ fencingToken: string; token: string }> {
  const res = await app.request(`/locks/${lock}/acquire`, {
    method: "POST",
    headers: { ...bearer(pipeline), "content-type": "application/json" },
    body: JSON.stringify({ holder, ttlSeconds }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { fencingToken: string; token: string };
}

/** The holds a confirmation names, as the page sends them back: [holderIdentity, fencingToken] pairs. */
const holds = (...pairs: Array<[string, string]>) => JSON.stringify(pairs);

function forceRelease(lock: string, body: unknown, headers: Record<string, string>) {
  return app.request(`/ui/locks/${lock}/force-release`, {
    method: "POST",
    headers: { "content-type": "application/json", "sec-fetch-site": "same-origin", ...headers },
    body: JSON.stringify(body),
  });
}

describe("security headers", () => {
  it.each(["/ui", "/ui/locks/ui-a", "/ui/fragments/locks", "/ui/no-such-page"])("%s carries the strict CSP and is never stored", async (path) => {
    const res = await get(path);
    expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'; script-src 'self'; style-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("serves its script and stylesheet from fingerprinted /ui/ paths that may be cached for good, and nothing inline", async () => {
    const page = await (await get("/ui")).text();
    const script = /<script src="(\/ui\/assets\/status-page\.[0-9a-f]{8}\.js)" defer><\/script>/.exec(page)?.[1];
    const style = /<link rel="stylesheet" href="(\/ui\/assets\/status-page\.[0-9a-f]{8}\.css)">/.exec(page)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page).not.toMatch(/<style|style=|\son[a-z]+=/i);
    for (const [path, type] of [[script!, "text/javascript"], [style!, "text/css"]] as const) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain(type);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
    // The script parses as JavaScript on its own (it is a function's source text).
    const source = await (await get(script!)).text();
    expect(() => new Function(source)).not.toThrow();
  });

  it("redirects /ui/ to /ui, keeping the filter", async () => {
    const res = await get("/ui/?prefix=ui-");
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe("/ui?prefix=ui-");
  });
});

describe("who sees what", () => {
  beforeAll(async () => {
    await acquire("ui-held", HOSTILE_LABEL);
    await acquire("other-held", "deploy-1");
  });

  it("gives an anonymous browser only the sign-in shell: no lock data", async () => {
    const res = await get("/ui");
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('data-auth="token"');
    expect(page).toContain('id="sign-in"');
    expect(page).not.toContain("ui-held");
    // The token input has no name: without the script it can never end up in a URL.
    expect(page).toMatch(/<input id="token" type="password"(?![^>]*\sname=)[^>]*>/);
  });

  it("answers the fragments only to a verified identity", async () => {
    const res = await get("/ui/fragments/locks");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="leasegate"');
    expect(await res.text()).not.toContain("ui-held");
    expect((await get("/ui/fragments/locks", { authorization: "Bearer not.a.jwt" })).status).toBe(401);
  });

  it("lists exactly the locks the JSON API lists for that caller, at the same apiserver cost", async () => {
    const api = await get("/locks", bearer(viewer));
    const apiNames = ((await api.json()) as { items: Array<{ name: string }> }).items.map((item) => item.name);
    expect(apiNames).toEqual(["ui-held"]);

    const fragment = await get("/ui/fragments/locks", bearer(viewer));
    expect(fragment.status).toBe(200);
    const markup = await fragment.text();
    expect([...markup.matchAll(/<tr data-lock="([^"]+)"/g)].map((m) => m[1])).toEqual(apiNames);
    expect(fragment.headers.get("server-timing")).toBe(api.headers.get("server-timing"));
  });

  it("filters by name prefix", async () => {
    const markup = await (await get("/ui/fragments/locks?prefix=other", bearer(pipeline))).text();
    expect([...markup.matchAll(/<tr data-lock="([^"]+)"/g)].map((m) => m[1])).toEqual(["other-held"]);
    const refused = await get("/ui/fragments/locks?prefix=%3Cb%3E", bearer(pipeline));
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("prefix may contain only lower-case letters");
  });

  it("escapes a holder label with HTML in it, wherever it appears", async () => {
    const escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;&quot;";
    for (const [path, jwt] of [["/ui/fragments/locks", pipeline], ["/ui/fragments/locks/ui-held", pipeline], ["/ui/fragments/locks", ops]] as const) {
      const markup = await (await get(path, bearer(jwt))).text();
      expect(markup).toContain(escaped);
      expect(markup).not.toContain("<img");
    }
  });

  it("offers force release only to a caller whose policy allows admin on that lock", async () => {
    const asPipeline = await (await get("/ui/fragments/locks/ui-held", bearer(pipeline))).text();
    const asOps = await (await get("/ui/fragments/locks/ui-held", bearer(ops))).text();
    expect(asPipeline).not.toContain("data-force-release");
    expect(asOps).toContain('data-force-release="ui-held"');
    expect(asOps).toContain(`data-holder="${"&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;&quot;"} (svc-pipeline)"`);
  });

  it("says plainly when a lock does not exist or may not be read", async () => {
    const missing = await get("/ui/fragments/locks/ui-nothing-here", bearer(pipeline));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("There is no lock named ui-nothing-here.");
    const forbidden = await get("/ui/fragments/locks/other-held", bearer(viewer));
    expect(forbidden.status).toBe(403);
    expect(await forbidden.text()).not.toContain("deploy-1");
    expect((await get("/ui/locks/Not_A_Name", bearer(pipeline))).status).toBe(400);
  });
});

describe("Cloudflare Access identity", () => {
  it("renders the page on the server from the Access header, as an ordinary configured issuer", async () => {
    const res = await get("/ui", { "cf-access-jwt-assertion": accessOps });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('data-auth="request"');
    expect(page).toContain("Signed in as <strong>oncall@ops.example</strong>");
    expect(page).toContain('data-force-release="ui-held"');
    expect(page).not.toContain('id="sign-in"');
    expect(res.headers.get("server-timing")).toMatch(/^kube;desc="\d+ requests"$/);
  });

  it("reads the CF_Authorization cookie the same way", async () => {
    const page = await (await get("/ui/locks/ui-held", { cookie: `other=1; CF_Authorization=${accessOps}` })).text();
    expect(page).toContain('data-auth="request"');
    expect(page).toContain("Fencing token");
  });

  it("refuses an Access token of an issuer that is not configured, and shows no data", async () => {
    const stranger = await startOidcIssuer({ defaultAudience: ACCESS_AUDIENCE });
    try {
      const res = await get("/ui", { "cf-access-jwt-assertion": await stranger.mint({ sub: "x", email: "oncall@ops.example" }) });
      expect(res.status).toBe(401);
      const page = await res.text();
      expect(page).toContain("did not accept");
      expect(page).not.toContain("ui-held");
    } finally {
      await stranger.close();
    }
  });
});

describe("force release from the page", () => {
  it("refuses requests another site could make, before anything else", async () => {
    await acquire("ui-csrf", "job");
    const crossSite = await forceRelease("ui-csrf", { holds: holds(["job (svc-pipeline)", "1"]) }, { "cf-access-jwt-assertion": accessOps, "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
    const form = await app.request("/ui/locks/ui-csrf/force-release", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: `CF_Authorization=${accessOps}`, origin: "https://evil.example", host: "leasegate.example" },
      body: "holds=job",
    });
    expect(form.status).toBe(403);
    const notJson = await forceRelease("ui-csrf", {}, { ...bearer(ops), "content-type": "text/plain" });
    expect(notJson.status).toBe(415);
    expect(((await (await get("/locks/ui-csrf", bearer(ops))).json()) as { status: string }).status).toBe("held");
  });

  it("is refused to a caller whose policy does not allow admin on that lock", async () => {
    const grant = await acquire("ui-not-admin", "job");
    const res = await forceRelease("ui-not-admin", { holds: holds(["job (svc-pipeline)", grant.fencingToken]) }, bearer(pipeline));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("forbidden");
  });

  it("releases nothing when the holder is no longer the one the confirmation named", async () => {
    const grant = await acquire("ui-changed", "job");
    const res = await forceRelease("ui-changed", { holds: holds(["job (svc-pipeline)", String(BigInt(grant.fencingToken) - 1n)]) }, bearer(ops));
    expect(await res.json()).toEqual({ released: false, holderChanged: true });
    expect(((await (await get("/locks/ui-changed", bearer(ops))).json()) as { status: string }).status).toBe("held");
  });

  it("force-releases the named hold through the JSON API, recording the actor", async () => {
    const grant = await acquire("ui-release", "job");
    const res = await forceRelease("ui-release", { holds: holds(["job (svc-pipeline)", grant.fencingToken]) }, bearer(ops));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ released: true });
    expect(res.headers.get("server-timing")).toMatch(/^kube;desc="\d+ requests"$/);
    const state = (await (await get("/locks/ui-release", bearer(ops))).json()) as { status: string; forcedRelease?: { by: string } };
    expect(state).toMatchObject({ status: "free", forcedRelease: { by: "ops" } });
  });
});
