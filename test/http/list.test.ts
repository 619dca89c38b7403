import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreError } from "../../src/locks/lock-store.ts";
import { AUDIENCE, memoryApp } from "../support/memory-app.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/** Locks that team-a callers may not read (the policy gives them `repo-42-*` only to a repository's jobs). */
const HIDDEN = ["repo-42-merger-secret", "repo-42-payroll-cuts"];
/** Locks that team-a callers may read; they sort after the hidden ones, so paging must pass them. */
const VISIBLE = ["shared", "team-a-alpha", "team-a-beta"];

let issuer: OidcIssuer;
let otherIssuer: OidcIssuer;
let gateway: Awaited<ReturnType<typeof memoryApp>>;
let authentications = 0;
let alice: string;
let aliceElsewhere: string;
let bob: string;
let reader: string;

beforeAll(async () => {
  [issuer, otherIssuer] = await Promise.all([startOidcIssuer({ defaultAudience: AUDIENCE }), startOidcIssuer({ defaultAudience: AUDIENCE })]);
  gateway = await memoryApp([issuer, otherIssuer], {
    authenticator: (jwt) => ({
      authenticate: (authorization) => {
        authentications++;
        return jwt.authenticate(authorization);
      },
    }),
  });
  [alice, aliceElsewhere, bob, reader] = await Promise.all([
    issuer.mint({ sub: "team-a:alice" }),
    otherIssuer.mint({ sub: "team-a:alice" }),
    issuer.mint({ sub: "team-a:bob" }),
    issuer.mint({ sub: "reader" }),
  ]);
  const repository = await issuer.mint({ sub: "repo:org/app", repository_id: "42" });
  for (const name of HIDDEN) expect((await call("POST", `/locks/${name}/acquire`, repository)).status).toBe(200);
  for (const name of VISIBLE) expect((await call("POST", `/locks/${name}/acquire`, alice)).status).toBe(200);
});
afterAll(() => Promise.all([issuer.close(), otherIssuer.close()]));

function call(method: string, path: string, jwt: string, body?: unknown) {
  return gateway.app.request(path, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface Page {
  items: Array<{ name: string }>;
  continue?: string;
}

const listPath = (query: { limit?: number; prefix?: string; cursor?: string }) => {
  const params = new URLSearchParams();
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  if (query.prefix !== undefined) params.set("prefix", query.prefix);
  if (query.cursor !== undefined) params.set("continue", query.cursor);
  return `/locks?${params}`;
};

/** Follows `continue` to the end; every page's raw body is kept, as a caller would see it. */
async function listAll(jwt: string, query: { limit: number; prefix?: string }) {
  const bodies: string[] = [];
  const names: string[] = [];
  const cursors: string[] = [];
  let cursor: string | undefined;
  do {
    const res = await call("GET", listPath({ ...query, cursor }), jwt);
    expect(res.status).toBe(200);
    const body = await res.text();
    bodies.push(body);
    const page = JSON.parse(body) as Page;
    names.push(...page.items.map((item) => item.name));
    cursor = page.continue;
    if (cursor !== undefined) cursors.push(cursor);
  } while (cursor !== undefined);
  return { bodies, names, cursors };
}

/**
 * Every way a caller could try to read `text`: as it is, URL-decoded, and every run of base64,
 * base64url or hex characters in it decoded from each of four offsets, three levels deep (a
 * Kubernetes continuation is base64 JSON, which a careless cursor would encode once more).
 */
function readings(text: string, depth = 3): string[] {
  const found = [text];
  if (depth === 0) return found;
  let urlDecoded = text;
  try {
    urlDecoded = decodeURIComponent(text);
  } catch {
    // not URL-encoded
  }
  const runs = new Set([urlDecoded, ...urlDecoded.split(/[^A-Za-z0-9+/_=-]+/)].filter((run) => run.length >= 4));
  for (const run of runs) {
    for (let offset = 0; offset < 4; offset++) {
      found.push(...readings(Buffer.from(run.slice(offset), "base64").toString("latin1"), depth - 1));
    }
    if (/^(?:[0-9a-f]{2})+$/i.test(run)) found.push(...readings(Buffer.from(run, "hex").toString("latin1"), depth - 1));
  }
  return found;
}

const reveals = (text: string, name: string) => readings(text).some((reading) => reading.includes(name));

async function expectContinueRefused(res: Response) {
  expect(res.status).toBe(400);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(res.headers.get("server-timing")).toBe('kube;desc="0 requests"');
  const problem = (await res.json()) as { code: string; errors: Array<{ path: string; message: string }>; instance: string };
  expect(problem.code).toBe("invalid_request");
  expect(problem.errors.map((error) => error.path)).toEqual(["query.continue"]);
  return problem;
}

describe("GET /locks", () => {
  it("pages through exactly the locks the caller may read, past the ones it may not", async () => {
    const everything = await listAll(reader, { limit: 2 });
    expect(everything.names).toEqual([...HIDDEN, ...VISIBLE]);

    const own = await listAll(alice, { limit: 1 });
    expect(own.names).toEqual(VISIBLE);
    expect(own.cursors.length).toBeGreaterThanOrEqual(HIDDEN.length + VISIBLE.length - 1);
  });

  it("gives a caller no way to learn the name of a lock it may not read, from the cursors or the pages", async () => {
    const own = await listAll(alice, { limit: 1 });
    for (const name of HIDDEN) {
      for (const text of [...own.bodies, ...own.cursors]) expect(reveals(text, name), `${name} in ${text}`).toBe(false);
    }
    // All cursors have one length: the length of a hidden name does not show either.
    expect(new Set(own.cursors.map((cursor) => cursor.length)).size).toBe(1);

    // The search finds a name wherever a cursor merely encodes it, as the in-memory and the Kubernetes continuations would be.
    const mac = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    const kubeContinue = Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: 4812, start: `${HIDDEN[0]}\u0000` })).toString("base64");
    for (const encoded of [Buffer.from(HIDDEN[0]!).toString("base64url"), Buffer.from(kubeContinue).toString("base64url")]) {
      expect(reveals(JSON.stringify({ items: [], continue: `${encoded}.${mac}` }), HIDDEN[0]!)).toBe(true);
    }
  });

  it("refuses a cursor from another caller or another prefix exactly like a forged one, without asking the store", async () => {
    const first = (await (await call("GET", listPath({ limit: 1 }), alice)).json()) as Page;
    const firstOfPrefix = (await (await call("GET", listPath({ limit: 1, prefix: "team-a-" }), alice)).json()) as Page;
    const ofReader = (await (await call("GET", listPath({ limit: 1 }), reader)).json()) as Page;
    const cursor = first.continue!;
    const forged = `${cursor.slice(0, -6)}AAAAAA`;

    const refusals = [
      await call("GET", listPath({ limit: 1, cursor }), bob),
      await call("GET", listPath({ limit: 1, cursor }), aliceElsewhere),
      await call("GET", listPath({ limit: 1, cursor, prefix: "team-a-" }), alice),
      await call("GET", listPath({ limit: 1, cursor: firstOfPrefix.continue! }), alice),
      await call("GET", listPath({ limit: 1, cursor: ofReader.continue! }), alice),
      await call("GET", listPath({ limit: 1, cursor: forged }), alice),
      await call("GET", listPath({ limit: 1, cursor: "lc1.garbage" }), alice),
    ];
    const problems = [];
    for (const res of refusals) problems.push(await expectContinueRefused(res));
    expect(new Set(problems.map((problem) => JSON.stringify(problem))).size).toBe(1);

    // The same cursor still resumes the listing it came from, also with an empty prefix (no prefix).
    expect((await call("GET", listPath({ limit: 1, cursor }), alice)).status).toBe(200);
    expect((await call("GET", listPath({ limit: 1, cursor, prefix: "" }), alice)).status).toBe(200);
  });

  it("answers a cursor the store no longer resumes from with 400: list again", async () => {
    const { continue: cursor } = (await (await call("GET", listPath({ limit: 1 }), alice)).json()) as Page;
    const store = gateway.store;
    store.list = async () => {
      throw new StoreError("cursor_expired", "the list continuation has expired");
    };
    try {
      const res = await call("GET", listPath({ limit: 1, cursor }), alice);
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { errors: Array<{ path: string; message: string }> };
      expect(problem.errors).toEqual([{ path: "query.continue", message: expect.stringMatching(/expired.*list again/) }]);
    } finally {
      delete (store as { list?: unknown }).list;
    }
  });

  it("authenticates once and reports the one store request a page costs", async () => {
    authentications = 0;
    const res = await call("GET", listPath({ limit: 1 }), alice);
    expect(res.status).toBe(200);
    expect(authentications).toBe(1);
    expect(res.headers.get("server-timing")).toBe('kube;desc="1 requests"');
  });
});

describe("every /locks route", () => {
  it("authenticates the caller exactly once per request", async () => {
    const ops = await issuer.mint({ sub: "ops", groups: ["admins"] });
    const acquired = await call("POST", "/locks/team-a-once/acquire", alice);
    const { token } = (await acquired.json()) as { token: string };
    const requests: Array<[string, string, string, unknown?]> = [
      ["GET", "/locks", alice],
      ["GET", "/locks?prefix=team-a-&limit=2", alice],
      ["GET", "/locks/team-a-once", alice],
      ["POST", "/locks/team-a-twice/acquire", alice],
      ["POST", "/locks/team-a-once/renew", alice, { token }],
      ["POST", "/locks/team-a-once/release", alice, { token }],
      ["DELETE", "/locks/team-a-twice", ops],
      ["DELETE", "/locks/team-a-twice", alice],
    ];
    for (const [method, path, jwt, body] of requests) {
      authentications = 0;
      const res = await call(method, path, jwt, body);
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
      expect(authentications, `${method} ${path}`).toBe(1);
    }
  });
});
