import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultProxy } from "../support/fault-proxy.ts";
import { inParallel, type RawClient, type RawRequest, type RawResponse, rawClient } from "../support/fuzz-client.ts";
import { Random, seedFromEnvironment } from "../support/random.ts";
import { type GatewayHandle, startProxiedGateway } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type LeaseSnapshot, leaseSnapshot, writeRequests } from "../support/security-assert.ts";
import { describeCase, type FuzzCase, generateCases } from "./malformed-cases.ts";

/**
 * At least 10,000 malformed requests, from a seeded PRNG, against the real Node gateway in front
 * of the real apiserver (through a counting proxy). Most carry a valid JWT whose policy allows
 * everything, so they get past authentication and reach validation; some carry none or a broken
 * one. Every answer must be a 4xx problem document, never a 5xx, and the gateway must not send
 * a single write request to Kubernetes.
 *
 *   FUZZ_SEED=1234 npm test -- test/fuzz      repeat a run
 *   FUZZ_COUNT=50000 npm test -- test/fuzz    a longer one
 */
const AUDIENCE = "leasegate";
const SEED = seedFromEnvironment();
const COUNT = Math.max(10_000, Number(process.env.FUZZ_COUNT ?? 10_000));
const CONCURRENCY = 24;
const HELD = ["held-a", "held-b", "held-c.sub"];

let issuer: OidcIssuer;
let proxy: FaultProxy;
let gw: GatewayHandle;
let client: RawClient;
let namespace: string;
let jwt: string;
let before: LeaseSnapshot;

beforeAll(async () => {
  console.log(`fuzz: seed ${SEED} (repeat with FUZZ_SEED=${SEED}), ${COUNT} requests, ${CONCURRENCY} in flight`);
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  ({ gw, proxy, namespace } = await startProxiedGateway("fuzz", {
    config: {
      issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
      policy: [{ match: { sub: "fuzzer" }, actions: ["acquire", "renew", "release", "read", "admin"], locks: ["*"] }],
    },
  }));
  jwt = await issuer.mint({ sub: "fuzzer" }, { expiresIn: 3600 });
  // Existing locks for the malformed requests to aim at: held ones (for an hour) and a released one.
  for (const name of HELD) {
    const res = await callGateway(gw.url, "POST", `/locks/${name}/acquire`, { jwt, body: { holder: "owner", ttlSeconds: 3600 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  const freed = await callGateway(gw.url, "POST", "/locks/free-a/acquire", { jwt });
  await callGateway(gw.url, "POST", "/locks/free-a/release", { jwt, body: { token: freed.body.token } });
  before = await leaseSnapshot(namespace);
  client = rawClient(gw.url, { maxSockets: CONCURRENCY });
});

afterAll(async () => {
  client?.close();
  await gw?.stop();
  await proxy?.close();
  await issuer?.close();
});

describe("malformed requests", () => {
  it(`answers ${COUNT} malformed requests with 4xx problem documents and writes nothing`, async () => {
    const rng = new Random(SEED);
    const { cases, regenerated } = generateCases(rng, { jwt, heldNames: [...HELD, "free-a"] }, COUNT);
    proxy.resetCounts();

    const byStatus = new Map<string, number>();
    const byKind = new Map<string, Map<number, number>>();
    const failures: string[] = [];
    let failureCount = 0;
    const fail = (c: FuzzCase, why: string) => {
      failureCount++;
      if (failures.length < 25) failures.push(`${why}\n    ${describeCase(c)}`);
    };
    const check = (c: FuzzCase, res: RawResponse) => {
      const code = typeof res.json?.code === "string" ? res.json.code : c.method === "HEAD" ? "(head)" : "(none)";
      const key = `${res.status} ${code}`;
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
      const kinds = byKind.get(c.kind) ?? new Map<number, number>();
      kinds.set(res.status, (kinds.get(res.status) ?? 0) + 1);
      byKind.set(c.kind, kinds);

      if (res.status < 400 || res.status > 499) return fail(c, `status ${res.status}: ${res.body.subarray(0, 300).toString()}`);
      if (c.method === "HEAD") {
        if (res.body.length !== 0) fail(c, "HEAD answered with a body");
        return;
      }
      if (res.headers["content-type"] !== "application/problem+json") return fail(c, `content-type ${res.headers["content-type"]} (status ${res.status})`);
      const body = res.json;
      if (!body || typeof body.code !== "string" || typeof body.type !== "string") return fail(c, `not a problem document: ${res.body.subarray(0, 200).toString()}`);
      if (!body.type.startsWith("urn:leasegate:problem:") || body.type !== `urn:leasegate:problem:${body.code}`) return fail(c, `problem type ${body.type} / code ${body.code}`);
      if (body.status !== res.status) fail(c, `problem status ${String(body.status)} differs from ${res.status}`);
    };

    const started = Date.now();
    await inParallel(cases, CONCURRENCY, async (c) => {
      try {
        check(c, await client.send(c));
      } catch (err) {
        byStatus.set("transport error", (byStatus.get("transport error") ?? 0) + 1);
        fail(c, `transport error: ${(err as Error).message}`);
      }
    });
    const seconds = (Date.now() - started) / 1000;

    const counts = proxy.counts();
    const table = [...byStatus.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `  ${k.padEnd(40)} ${n}`);
    const kinds = [...byKind.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, statuses]) => `  ${kind.padEnd(20)} ${[...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(" ")}`);
    console.log(
      [
        `fuzz: seed ${SEED}: ${cases.length} requests in ${seconds.toFixed(1)} s (${Math.round(cases.length / seconds)}/s); ${regenerated} generated requests were well-formed and replaced`,
        "by status and code:",
        ...table,
        "by kind:",
        ...kinds,
        `Kubernetes requests seen at the proxy: ${JSON.stringify(counts)}`,
        failureCount ? `${failureCount} failures, first ${failures.length}:\n  ${failures.join("\n  ")}` : "no failures",
      ].join("\n"),
    );

    expect(failures, `seed ${SEED}`).toEqual([]);
    expect([...byStatus.keys()].filter((k) => /^5/.test(k))).toEqual([]);
    expect(writeRequests(counts), `write requests at the proxy: ${JSON.stringify(counts)}`).toBe(0);
  }, 180_000);

  it("answers the inputs that once got through (a write, a 5xx or silently altered data) with 4xx", async () => {
    proxy.resetCounts();
    const auth = { authorization: `Bearer ${jwt}` };
    const json = { ...auth, "content-type": "application/json" };
    const continueToken = (token: unknown) => encodeURIComponent(Buffer.from(JSON.stringify(token)).toString("base64url"));
    const cases: Array<[string, Parameters<RawClient["send"]>[0], number, string]> = [
      ["a holder with bytes that are not UTF-8", { method: "POST", path: "/locks/utf8/acquire", headers: json, body: Buffer.from([...Buffer.from('{"holder":"ci-'), 0xff, 0xfe, ...Buffer.from('"}')]) }, 400, "invalid_request"],
      ["a holder with an unpaired surrogate", { method: "POST", path: "/locks/surrogate/acquire", headers: json, body: Buffer.from('{"holder":"ci-\\ud800"}') }, 400, "invalid_request"],
      ["a lock token part of length 4k+1 (renew)", { method: "POST", path: "/locks/held-a/renew", headers: json, body: Buffer.from(`{"token":"lg2.1.${"A".repeat(43)}.AAAAB.${"B".repeat(43)}"}`) }, 400, "invalid_request"],
      ["a lock token part of length 4k+1 (release)", { method: "POST", path: "/locks/held-a/release", headers: json, body: Buffer.from(`{"token":"lg2.1.${"a".repeat(43)}.${"a".repeat(249)}.${"b".repeat(43)}"}`) }, 400, "invalid_request"],
      ["a continue value that is not a token", { method: "GET", path: "/locks?continue=garbage", headers: auth }, 400, "invalid_request"],
      ["a continue token with revision 0", { method: "GET", path: `/locks?continue=${continueToken({ v: "meta.k8s.io/v1", rv: 0, start: "x" })}`, headers: auth }, 400, "invalid_request"],
      ["a continue token climbing out of the namespace", { method: "GET", path: `/locks?continue=${continueToken({ v: "meta.k8s.io/v1", rv: 5, start: "../x" })}`, headers: auth }, 400, "invalid_request"],
      ["a continue token from the future", { method: "GET", path: `/locks?continue=${continueToken({ v: "meta.k8s.io/v1", rv: 999999999999, start: "x" })}`, headers: auth }, 400, "invalid_request"],
      ["a valid JWT followed by a no-break space", { method: "POST", path: "/locks/nbsp/acquire", headers: { authorization: `Bearer ${jwt}\u00a0` } }, 401, "unauthenticated"],
      ["a valid JWT with padding", { method: "POST", path: "/locks/padded/acquire", headers: { authorization: `Bearer ${jwt}==` } }, 401, "unauthenticated"],
    ];
    for (const [what, req, status, code] of cases) {
      const res = await client.send(req);
      expect(res.status, `${what}: ${res.body.toString()}`).toBe(status);
      expect(res.json?.code, what).toBe(code);
    }
    expect(writeRequests(proxy.counts())).toBe(0);
  }, 30_000);

  it("answers requests refused before they reach the app with problem documents too, writing nothing", async () => {
    proxy.resetCounts();
    const auth = { authorization: `Bearer ${jwt}` };
    const transport: Array<[RawRequest, number, string]> = [
      [{ method: "POST", path: "/locks/a\\b/acquire", headers: auth }, 400, "invalid_request"],
      [{ method: "POST", path: "/locks/caf\u00e9/acquire", headers: auth }, 400, "invalid_request"],
      [{ method: "POST", path: "/locks/ok/acquire", headers: { ...auth, host: "evil host" } }, 400, "invalid_request"],
      [{ method: "GET", path: "/locks/held-a", headers: { ...auth, "x-padding": "p".repeat(20 * 1024) } }, 431, "headers_too_large"],
    ];
    for (const [req, status, code] of transport) {
      const res = await client.send({ ...req, ownConnection: true });
      expect(res.status, `${req.method} ${req.path}`).toBe(status);
      expect(res.headers["content-type"], `${req.method} ${req.path}`).toBe("application/problem+json");
      expect(res.json?.code, `${req.method} ${req.path}`).toBe(code);
    }
    expect(writeRequests(proxy.counts())).toBe(0);
    expect((await callGateway(gw.url, "GET", "/healthz")).status).toBe(200);
  });

  it("left every Lease as it was, and the gateway healthy", async () => {
    expect(await leaseSnapshot(namespace)).toEqual(before);
    expect((await callGateway(gw.url, "GET", "/healthz")).status).toBe(200);
    const held = await callGateway(gw.url, "GET", "/locks/held-a", { jwt });
    expect(held.body).toMatchObject({ status: "held", holder: "owner" });
    expect(gw.logs()).not.toContain("unhandled error");
  });
});
