import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "../support/oidc-issuer.ts";
import { AUDIENCE, memoryApp } from "../support/memory-app.ts";

let issuer: OidcIssuer;
let app: Awaited<ReturnType<typeof memoryApp>>["app"];
let store: Awaited<ReturnType<typeof memoryApp>>["store"];
const logs: Array<Record<string, unknown>> = [];
let alice: string;

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  ({ app, store } = await memoryApp(issuer, { log: (e) => logs.push(e) }));
  alice = await issuer.mint({ sub: "team-a:alice" });
});
afterAll(() => issuer.close());

const call = (method: string, path: string, options: { jwt?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  app.request(path, {
    method,
    headers: {
      ...(options.jwt ? { authorization: `Bearer ${options.jwt}` } : {}),
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
  });

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ type: `urn:leasegate:problem:${code}`, code, status });
  return body;
}

describe("lock lifecycle over HTTP", () => {
  it("acquires, renews and releases with the fencing token in body and header", async () => {
    const acquired = await call("POST", "/locks/team-a-deploy/acquire", { jwt: alice, body: { holder: "ci", ttlSeconds: 20, metadata: { run: "1" } } });
    expect(acquired.status).toBe(200);
    const grant = (await acquired.json()) as Record<string, string>;
    expect(grant).toMatchObject({ name: "team-a-deploy", namespace: "test", lease: "team-a-deploy", holder: "ci", subject: "team-a:alice", ttlSeconds: 20 });
    expect(acquired.headers.get("fencing-token")).toBe(grant.fencingToken);
    // A name used for the first time is read, created free, then granted.
    expect(acquired.headers.get("server-timing")).toBe('kube;desc="3 requests"');
    expect(grant.holderIdentity).toBe("ci (team-a:alice)");

    const renewed = await call("POST", "/locks/team-a-deploy/renew", { jwt: alice, body: { token: grant.token } });
    expect(renewed.status).toBe(200);
    expect(((await renewed.json()) as Record<string, string>).fencingToken).toBe(grant.fencingToken);
    expect(renewed.headers.get("server-timing")).toBe('kube;desc="1 requests"');

    const released = await call("POST", "/locks/team-a-deploy/release", { jwt: alice, body: { token: grant.token } });
    expect(await released.json()).toEqual({ released: true });
    expect(released.headers.get("server-timing")).toBe('kube;desc="1 requests"');

    const again = await call("POST", "/locks/team-a-deploy/acquire", { jwt: alice });
    expect(again.headers.get("server-timing")).toBe('kube;desc="2 requests"');
  });

  it("accepts an acquire with no body at all, using the default ttl", async () => {
    const res = await call("POST", "/locks/team-a-nobody/acquire", { jwt: alice });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ttlSeconds: number }).ttlSeconds).toBe(30);
  });

  it("caps ttlSeconds at the configured maximum", async () => {
    const res = await call("POST", "/locks/team-a-long/acquire", { jwt: alice, body: { ttlSeconds: 999999 } });
    expect(((await res.json()) as { ttlSeconds: number }).ttlSeconds).toBe(3600);
  });

  it("answers 409 lock_held with the holder, never its token, and Retry-After", async () => {
    const first = (await (await call("POST", "/locks/team-a-busy/acquire", { jwt: alice, body: { holder: "one" } })).json()) as { token: string };
    const bob = await issuer.mint({ sub: "team-a:bob" });
    const res = await call("POST", "/locks/team-a-busy/acquire", { jwt: bob });
    const body = await expectProblem(res, 409, "lock_held");
    expect(body).toMatchObject({ holder: "one", subject: "team-a:alice" });
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(JSON.stringify(body)).not.toContain(first.token.split(".")[2]);
  });

  it("keeps a request with waitSeconds open until the holder releases, then grants it", async () => {
    const bob = await issuer.mint({ sub: "team-a:bob" });
    const held = (await (await call("POST", "/locks/team-a-wait/acquire", { jwt: alice, body: { ttlSeconds: 600 } })).json()) as { token: string };
    let answered = false;
    const waiting = Promise.resolve(call("POST", "/locks/team-a-wait/acquire", { jwt: bob, body: { waitSeconds: 30 } })).then((res) => {
      answered = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(answered).toBe(false);
    await call("POST", "/locks/team-a-wait/release", { jwt: alice, body: { token: held.token } });
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { subject: string }).subject).toBe("team-a:bob");
  });

  it("answers a wait that ends with 409 and Retry-After: 0, and refuses a negative waitSeconds", async () => {
    const bob = await issuer.mint({ sub: "team-a:bob" });
    await call("POST", "/locks/team-a-wait-ends/acquire", { jwt: alice, body: { ttlSeconds: 600 } });
    const started = Date.now();
    const res = await call("POST", "/locks/team-a-wait-ends/acquire", { jwt: bob, body: { waitSeconds: 1 } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await expectProblem(res, 409, "lock_held");
    expect(res.headers.get("retry-after")).toBe("0");
    const invalid = await call("POST", "/locks/team-a-wait-ends/acquire", { jwt: bob, body: { waitSeconds: -1 } });
    await expectProblem(invalid, 400, "invalid_request");
  });

  it("returns the same grant for a retried acquire with the same Idempotency-Key", async () => {
    const headers = { "idempotency-key": "run-7" };
    const a = (await (await call("POST", "/locks/team-a-idem/acquire", { jwt: alice, headers })).json()) as Record<string, string>;
    const res = await call("POST", "/locks/team-a-idem/acquire", { jwt: alice, headers });
    expect(res.status).toBe(200);
    const b = (await res.json()) as Record<string, string>;
    expect([b.token, b.fencingToken]).toEqual([a.token, a.fencingToken]);
  });

  it("answers renew with lock_lost and release with not_holder once another caller holds the lock", async () => {
    const bob = await issuer.mint({ sub: "team-a:bob" });
    const grant = (await (await call("POST", "/locks/team-a-taken/acquire", { jwt: alice, body: { ttlSeconds: 1 } })).json()) as { token: string };
    // Force the lock free to stand in for expiry, then let bob take it.
    const ops = await issuer.mint({ sub: "ops", groups: ["admins"] });
    expect((await call("DELETE", "/locks/team-a-taken", { jwt: ops })).status).toBe(200);
    expect((await call("POST", "/locks/team-a-taken/acquire", { jwt: bob })).status).toBe(200);
    await expectProblem(await call("POST", "/locks/team-a-taken/renew", { jwt: alice, body: { token: grant.token } }), 409, "lock_lost");
    await expectProblem(await call("POST", "/locks/team-a-taken/release", { jwt: alice, body: { token: grant.token } }), 409, "not_holder");
  });

  it("shows state without secrets, and 404 for a lock that never existed", async () => {
    await call("POST", "/locks/team-a-state/acquire", { jwt: alice, body: { holder: "h" } });
    const res = await call("GET", "/locks/team-a-state", { jwt: alice });
    const state = (await res.json()) as Record<string, unknown>;
    expect(state).toMatchObject({ name: "team-a-state", status: "held", holder: "h", subject: "team-a:alice" });
    expect(state).not.toHaveProperty("token");
    await expectProblem(await call("GET", "/locks/team-a-never", { jwt: alice }), 404, "lock_not_found");
  });

  it("lists only the locks the caller may read, by prefix, in pages", async () => {
    for (const n of ["team-a-list-1", "team-a-list-2", "team-a-list-3"]) await call("POST", `/locks/${n}/acquire`, { jwt: alice });
    const seen: string[] = [];
    let next: string | undefined;
    do {
      const res = await call("GET", `/locks?prefix=team-a-list-&limit=2${next ? `&continue=${encodeURIComponent(next)}` : ""}`, { jwt: alice });
      const page = (await res.json()) as { items: Array<{ name: string }>; continue?: string };
      seen.push(...page.items.map((i) => i.name));
      next = page.continue;
    } while (next);
    expect(seen).toEqual(["team-a-list-1", "team-a-list-2", "team-a-list-3"]);
  });
});

describe("authentication and authorization", () => {
  it("answers 401 with a short code and nothing else for missing or bad tokens", async () => {
    const missing = await expectProblem(await call("POST", "/locks/team-a-x/acquire"), 401, "unauthenticated");
    expect(Object.keys(missing).sort()).toEqual(["code", "instance", "status", "title", "type"]);
    await expectProblem(await call("POST", "/locks/team-a-x/acquire", { jwt: "not.a.jwt" }), 401, "unauthenticated");
    const expired = await issuer.mint({ sub: "team-a:alice" }, { expiresIn: -120 });
    await expectProblem(await call("POST", "/locks/team-a-x/acquire", { jwt: expired }), 401, "unauthenticated");
  });

  it("takes the Bearer scheme in any case and after several spaces, as HTTP allows", async () => {
    for (const authorization of [`bearer ${alice}`, `BEARER ${alice}`, `Bearer   ${alice}`]) {
      expect((await call("GET", "/locks/team-a-deploy", { headers: { authorization } })).status).not.toBe(401);
    }
  });

  it("answers 403 for an action or lock outside the caller's rules and writes nothing", async () => {
    await expectProblem(await call("POST", "/locks/team-b-x/acquire", { jwt: alice }), 403, "forbidden");
    const reader = await issuer.mint({ sub: "reader" });
    await expectProblem(await call("POST", "/locks/team-a-x/acquire", { jwt: reader }), 403, "forbidden");
    await expectProblem(await call("DELETE", "/locks/team-a-x", { jwt: alice }), 403, "forbidden");
    expect(await store.get("team-b-x")).toBeNull();
    expect(await store.get("team-a-x")).toBeNull();
  });

  it("expands ${claim} in lock patterns from the caller's own claims", async () => {
    const repo = await issuer.mint({ sub: "repo:org/app", repository_id: "42" });
    expect((await call("POST", "/locks/repo-42-deploy/acquire", { jwt: repo })).status).toBe(200);
    await expectProblem(await call("POST", "/locks/repo-43-deploy/acquire", { jwt: repo }), 403, "forbidden");
  });

  it("requires admin to force-release, and records the actor", async () => {
    await call("POST", "/locks/team-a-forced/acquire", { jwt: alice });
    const ops = await issuer.mint({ sub: "ops", groups: ["admins", "x"] });
    expect(await (await call("DELETE", "/locks/team-a-forced", { jwt: ops })).json()).toEqual({ released: true });
    const state = (await (await call("GET", "/locks/team-a-forced", { jwt: ops })).json()) as { status: string; forcedRelease: { by: string } };
    expect(state.status).toBe("free");
    expect(state.forcedRelease.by).toBe("ops");
  });
});

describe("bad input", () => {
  const invalid = [
    ["a name with upper case", "/locks/Deploy/acquire", {}, "lock name may contain only lower-case letters"],
    ["a name ending in '-'", "/locks/team-a-/acquire", {}, "must start and end with a letter or digit"],
    ["an over-long name", `/locks/${"a".repeat(254)}/acquire`, {}, "at most 253 characters"],
    ["an unknown field", "/locks/team-a-v/acquire", { owner: "x" }, "Unrecognized key"],
    ["a zero ttl", "/locks/team-a-v/acquire", { ttlSeconds: 0 }, ""],
    ["a fractional ttl", "/locks/team-a-v/acquire", { ttlSeconds: 1.5 }, ""],
    ["an over-long holder", "/locks/team-a-v/acquire", { holder: "h".repeat(129) }, ""],
    ["non-string metadata", "/locks/team-a-v/acquire", { metadata: { a: 1 } }, ""],
    ["metadata over 4 KiB", "/locks/team-a-v/acquire", { metadata: { a: "x".repeat(4100) } }, "at most 4096 bytes"],
    ["a renew without token", "/locks/team-a-v/renew", {}, ""],
    ["a release with a malformed token", "/locks/team-a-v/release", { token: "abc" }, "is not a leasegate lock token"],
  ] as const;

  it.each(invalid)("rejects %s with 400 invalid_request naming the rule, writing nothing", async (_, path, body, message) => {
    const body400 = await expectProblem(await call("POST", path, { jwt: alice, body }), 400, "invalid_request");
    expect(JSON.stringify(body400.errors)).toContain(message);
    expect(await store.get("team-a-v")).toBeNull();
  });

  it("rejects malformed JSON with 400", async () => {
    await expectProblem(await call("POST", "/locks/team-a-v/acquire", { jwt: alice, body: "{not json" }), 400, "invalid_request");
  });

  it("rejects a body over 16 KiB with 413", async () => {
    await expectProblem(await call("POST", "/locks/team-a-v/acquire", { jwt: alice, body: { holder: "x".repeat(20000) } }), 413, "payload_too_large");
  });

  it("rejects a bad Idempotency-Key and bad list parameters", async () => {
    await expectProblem(await call("POST", "/locks/team-a-v/acquire", { jwt: alice, headers: { "idempotency-key": "has space" } }), 400, "invalid_request");
    await expectProblem(await call("GET", "/locks?limit=0", { jwt: alice }), 400, "invalid_request");
    await expectProblem(await call("GET", "/locks?prefix=UP", { jwt: alice }), 400, "invalid_request");
  });

  it("answers unknown routes with a 404 problem", async () => {
    await expectProblem(await call("GET", "/nope"), 404, "not_found");
  });
});

describe("service routes", () => {
  it("serves liveness, readiness and an OpenAPI 3.1 document of every route", async () => {
    expect(await (await call("GET", "/healthz")).json()).toEqual({ ok: true });
    expect((await call("GET", "/readyz")).status).toBe(200);
    const doc = (await (await call("GET", "/openapi.json")).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(
      ["/healthz", "/locks", "/locks/{name}", "/locks/{name}/acquire", "/locks/{name}/leave", "/locks/{name}/verify", "/locks/{name}/release", "/locks/{name}/renew", "/readyz"].sort(),
    );
  });

  it("never logs lock tokens or JWTs", async () => {
    const grant = (await (await call("POST", "/locks/team-a-logs/acquire", { jwt: alice })).json()) as { token: string };
    await call("POST", "/locks/team-a-logs/release", { jwt: alice, body: { token: grant.token } });
    const text = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThan(0);
    expect(text).not.toContain(grant.token.split(".")[2]);
    expect(text).not.toContain(alice.split(".")[2]);
  });
});
