import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectlJson, newTestNamespace } from "../support/cluster.ts";
import type { FaultProxy } from "../support/fault-proxy.ts";
import { type GatewayHandle, startNodeGateway, startProxiedGateway } from "../support/gateway.ts";
import { type Call, callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { expectBareRefusal, leaseSnapshot, writeRequests } from "../support/security-assert.ts";

/**
 * Authorization against the real gateway and apiserver: policy patterns bound what a caller may
 * touch, lock tokens bind a grant to its holder and lock, and force release is for admins only,
 * with the actor recorded on the Lease.
 */
const AUDIENCE = "leasegate";
let issuer: OidcIssuer;
let partner: OidcIssuer;
let proxy: FaultProxy;
let gw: GatewayHandle;
let namespace: string;
const jwt: Record<string, string> = {};

const call = (method: string, path: string, who: string | undefined, body?: unknown, headers?: Record<string, string>) =>
  callGateway(gw.url, method, path, { jwt: who, body, headers });
const refusal = (res: Call) => ({
  status: res.status,
  contentType: res.headers.get("content-type"),
  body: res.body,
  wwwAuthenticate: res.headers.get("www-authenticate"),
});
const lease = (name: string, ns = namespace) => kubectlJson(["get", "lease", name, "-n", ns, "-o", "json"]);
const randomPart = () => randomBytes(32).toString("base64url");

async function acquire(name: string, who: string, body: Record<string, unknown> = { ttlSeconds: 600 }, headers?: Record<string, string>) {
  const res = await call("POST", `/locks/${name}/acquire`, who, body, headers);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { token: string; fencingToken: string };
}

beforeAll(async () => {
  [issuer, partner] = await Promise.all([startOidcIssuer({ defaultAudience: AUDIENCE }), startOidcIssuer({ defaultAudience: AUDIENCE })]);
  ({ gw, proxy, namespace } = await startProxiedGateway("sec-authz", {
    config: {
      // The proxy's counts are of lock requests alone: history Events would add writes after answers.
      history: { enabled: false },
      issuers: [
        { issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri },
        { issuer: partner.issuer, audiences: [AUDIENCE], jwksUri: partner.jwksUri },
      ],
      policy: [
        { description: "team a", match: { iss: issuer.issuer, sub: "team-a:*" }, actions: ["acquire", "renew", "release", "read"], locks: ["team-a-*", "shared-*"] },
        { description: "team b", match: { iss: issuer.issuer, sub: "team-b:*" }, actions: ["acquire", "renew", "release", "read"], locks: ["team-b-*", "shared-*"] },
        { description: "personal", match: { iss: issuer.issuer, sub: "user:*" }, actions: ["acquire", "renew", "release", "read"], locks: ["home-${uid}-*"] },
        { description: "operators", match: { iss: issuer.issuer, sub: "ops", groups: "admins" }, actions: ["admin", "read"], locks: ["*"] },
        { description: "partner reads shared locks", match: { iss: partner.issuer }, actions: ["read"], locks: ["shared-*"] },
      ],
    },
  }));
  const mint = (claims: Record<string, unknown>) => issuer.mint(claims, { expiresIn: 900 });
  Object.assign(jwt, {
    alice: await mint({ sub: "team-a:alice" }),
    bob: await mint({ sub: "team-b:bob" }),
    nobody: await mint({ sub: "contractor:eve" }),
    ops: await mint({ sub: "ops", groups: ["admins", "oncall"] }),
    opsNoGroup: await mint({ sub: "ops" }),
    opsWrongGroup: await mint({ sub: "ops", groups: ["users"] }),
    opsFromPartner: await partner.mint({ sub: "ops", groups: ["admins"] }, { expiresIn: 900 }),
    partner: await partner.mint({ sub: "reader" }, { expiresIn: 900 }),
  });
});

afterAll(async () => {
  await gw?.stop();
  await proxy?.close();
  await Promise.all([issuer?.close(), partner?.close()]);
});

describe("policy patterns", () => {
  it("keep a caller out of locks outside its patterns, even holding the real lock token (403, nothing said, nothing written)", async () => {
    const bobs = await acquire("team-b-1", jwt.bob!);
    const before = await leaseSnapshot(namespace);
    proxy.resetCounts();
    const attempts = [
      await call("GET", "/locks/team-b-1", jwt.alice),
      await call("POST", "/locks/team-b-1/acquire", jwt.alice, { ttlSeconds: 60 }),
      await call("POST", "/locks/team-b-2/acquire", jwt.alice),
      // A leaked token does not widen the policy: the pattern is checked before the token.
      await call("POST", "/locks/team-b-1/renew", jwt.alice, { token: bobs.token }),
      await call("POST", "/locks/team-b-1/release", jwt.alice, { token: bobs.token }),
      await call("DELETE", "/locks/team-b-1", jwt.alice),
      await call("POST", "/locks/home-alice-1/acquire", jwt.alice),
    ];
    for (const res of attempts) expectBareRefusal(refusal(res), 403, JSON.stringify(res.body));
    expect(proxy.counts()).toEqual({});
    expect(await leaseSnapshot(namespace)).toEqual(before);
    const renewed = await call("POST", "/locks/team-b-1/renew", jwt.bob, { token: bobs.token });
    expect(renewed.status).toBe(200);
    expect(renewed.body.fencingToken).toBe(bobs.fencingToken);
  });

  it("answer 403 alike whether or not the lock exists", async () => {
    const existing = await call("GET", "/locks/team-b-1", jwt.alice);
    const absent = await call("GET", "/locks/team-b-never-created", jwt.alice);
    expect([existing.status, absent.status]).toEqual([403, 403]);
    const { instance: _a, ...a } = existing.body;
    const { instance: _b, ...b } = absent.body;
    expect(a).toEqual(b);
  });

  it("list only the locks the caller may read, and refuse callers with no read rule", async () => {
    await acquire("team-a-1", jwt.alice!);
    await acquire("shared-listed", jwt.bob!);
    const names = async (who: string) => {
      const res = await call("GET", "/locks?limit=500", who);
      expect(res.status).toBe(200);
      return (res.body.items as Array<{ name: string }>).map((i) => i.name).sort();
    };
    const alice = await names(jwt.alice!);
    expect(alice).toContain("team-a-1");
    expect(alice).toContain("shared-listed");
    expect(alice.every((n) => n.startsWith("team-a-") || n.startsWith("shared-"))).toBe(true);
    const bob = await names(jwt.bob!);
    expect(bob).toContain("team-b-1");
    expect(bob.every((n) => n.startsWith("team-b-") || n.startsWith("shared-"))).toBe(true);
    expect(await names(jwt.partner!)).toEqual(alice.filter((n) => n.startsWith("shared-")));
    expectBareRefusal(refusal(await call("GET", "/locks", jwt.nobody)), 403);
    expectBareRefusal(refusal(await call("GET", "/locks/shared-listed", jwt.nobody)), 403);
    // Read rights do not include acquiring.
    expectBareRefusal(refusal(await call("POST", "/locks/shared-partner/acquire", jwt.partner)), 403);
  });

  it("cannot be widened by a claim inserted into a pattern", async () => {
    const user = (uid: unknown) => issuer.mint({ sub: "user:x", uid });
    const carol = await user("carol");
    const grant = await acquire("home-carol-1", carol);
    expect((await call("POST", "/locks/home-carol-1/release", carol, { token: grant.token })).body).toEqual({ released: true });
    expectBareRefusal(refusal(await call("POST", "/locks/home-dave-1/acquire", carol)), 403);
    for (const uid of ["*", "carol*", "c?rol", ["carol"], { id: "carol" }, null]) {
      expectBareRefusal(refusal(await call("POST", "/locks/home-carol-2/acquire", await user(uid))), 403, JSON.stringify(uid));
    }
    expectBareRefusal(refusal(await call("POST", "/locks/home-carol-2/acquire", await issuer.mint({ sub: "user:x" }))), 403, "no uid");
  });

  it("cannot reach into another caller's share through a claim holding the pattern's delimiter, or an empty one", async () => {
    const user = (uid: unknown) => issuer.mint({ sub: "user:x", uid });
    // home-carol-x-* is within carol's home-carol-*: uid carol-x would share it.
    const carol = await user("carol");
    const grant = await acquire("home-carol-x-1", carol);
    const before = await leaseSnapshot(namespace);
    proxy.resetCounts();
    const carolX = await user("carol-x");
    expectBareRefusal(refusal(await call("POST", "/locks/home-carol-x-1/release", carolX, { token: grant.token })), 403, "carol-x release");
    expectBareRefusal(refusal(await call("POST", "/locks/home-carol-x-2/acquire", carolX)), 403, "carol-x acquire");
    expectBareRefusal(refusal(await call("GET", "/locks/home-carol-x-1", carolX)), 403, "carol-x read");
    // An empty uid would turn home-${uid}-* into home--*.
    expectBareRefusal(refusal(await call("POST", "/locks/home--1/acquire", await user(""))), 403, "empty uid");
    expect(proxy.counts()).toEqual({});
    expect(await leaseSnapshot(namespace)).toEqual(before);
    // A numeric claim is inserted as its decimal text.
    const numeric = await user(4711);
    const own = await acquire("home-4711-1", numeric);
    expect((await call("POST", "/locks/home-4711-1/release", numeric, { token: own.token })).body).toEqual({ released: true });
    expect((await call("POST", "/locks/home-carol-x-1/release", carol, { token: grant.token })).body).toEqual({ released: true });
  });

  it("refuse a list to a caller whose only read rule needs a claim it lacks or may not have inserted", async () => {
    for (const claims of [{ sub: "user:x" }, { sub: "user:x", uid: "carol-x" }, { sub: "user:x", uid: "" }]) {
      expectBareRefusal(refusal(await call("GET", "/locks", await issuer.mint(claims))), 403, JSON.stringify(claims));
    }
    const listed = await call("GET", "/locks?limit=500", await issuer.mint({ sub: "user:x", uid: "carol" }));
    expect(listed.status).toBe(200);
    expect((listed.body.items as Array<{ name: string }>).every((item) => item.name.startsWith("home-carol-"))).toBe(true);
  });
});

describe("lock tokens", () => {
  it("cannot renew or release another caller's lock, knowing its fencing token or holding a token of another lock", async () => {
    const bobs = await acquire("shared-1", jwt.bob!);
    const bobsOther = await acquire("shared-3", jwt.bob!);
    const alices = await acquire("shared-2", jwt.alice!);
    const fencing = bobs.fencingToken;
    const [, , aliceSecret, aliceIdentity, aliceMac] = alices.token.split(".");
    const [, , bobSecret, bobIdentity, bobMac] = bobs.token.split(".");

    // A second gateway, same token key, another namespace: a grant of a lock with the same name there.
    const otherNamespace = await newTestNamespace("sec-authz-other");
    const other = await startNodeGateway({ namespace: otherNamespace, config: { issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }], policy: [{ match: { sub: "team-b:*" }, actions: ["acquire"], locks: ["*"] }] } });
    let elsewhere: string;
    try {
      const res = await callGateway(other.url, "POST", "/locks/shared-1/acquire", { jwt: jwt.bob, body: { ttlSeconds: 600 } });
      expect(res.status).toBe(200);
      elsewhere = res.body.token as string;
    } finally {
      await other.stop();
    }

    const forged = [
      ["a made-up token around the known fencing token and holder", `lg2.${fencing}.${randomPart()}.${bobIdentity}.${randomPart()}`],
      ["the caller's own token for another lock", alices.token],
      ["the holder's own token for another lock", bobsOther.token],
      ["the caller's secret and MAC under the holder's fencing token", `lg2.${fencing}.${aliceSecret}.${aliceIdentity}.${aliceMac}`],
      ["the caller's secret and MAC under the holder's fencing token and identity", `lg2.${fencing}.${aliceSecret}.${bobIdentity}.${aliceMac}`],
      ["the holder's token with its fencing token raised", `lg2.${BigInt(fencing) + 1n}.${bobSecret}.${bobIdentity}.${bobMac}`],
      ["the holder's MAC with another secret", `lg2.${fencing}.${randomPart()}.${bobIdentity}.${bobMac}`],
      ["a token for the same lock name in another namespace", elsewhere],
    ] as const;

    const before = await leaseSnapshot(namespace);
    proxy.resetCounts();
    for (const [what, token] of forged) {
      for (const op of ["renew", "release"]) {
        const res = await call("POST", `/locks/shared-1/${op}`, jwt.alice, { token, ttlSeconds: op === "renew" ? 3600 : undefined });
        expect(res.status, `${op} with ${what}: ${JSON.stringify(res.body)}`).toBe(409);
        expect(res.body.code, what).toBe("not_holder");
        expect(JSON.stringify(res.body), what).not.toContain(bobSecret);
      }
    }
    expect(writeRequests(proxy.counts())).toBe(0);
    expect(await leaseSnapshot(namespace)).toEqual(before);
    expect((await lease("shared-1")).metadata.annotations["leasegate.io/subject"]).toBe("team-b:bob");

    const renewed = await call("POST", "/locks/shared-1/renew", jwt.bob, { token: bobs.token });
    expect(renewed.status).toBe(200);
    expect(renewed.body.fencingToken).toBe(fencing);
  });

  it("cannot obtain another caller's grant by replaying its Idempotency-Key", async () => {
    const headers = { "idempotency-key": "deploy-run-7" };
    const bobs = await acquire("shared-idem", jwt.bob!, { ttlSeconds: 600 }, headers);
    const alice = await call("POST", "/locks/shared-idem/acquire", jwt.alice, { ttlSeconds: 600 }, headers);
    expect(alice.status).toBe(409);
    expect(alice.body.code).toBe("lock_held");
    expect(alice.body.token).toBeUndefined();
    expect(JSON.stringify(alice.body)).not.toContain(bobs.token.split(".")[2]);
    // The holder's own retry still gets its grant back.
    const again = await call("POST", "/locks/shared-idem/acquire", jwt.bob, { ttlSeconds: 600 }, headers);
    expect(again.body.token).toBe(bobs.token);
  });
});

describe("force release", () => {
  it("is refused without admin rights, whoever else asks", async () => {
    const grant = await acquire("team-a-forced", jwt.alice!);
    const before = await leaseSnapshot(namespace);
    proxy.resetCounts();
    for (const who of ["alice", "bob", "nobody", "opsNoGroup", "opsWrongGroup", "opsFromPartner", "partner"]) {
      expectBareRefusal(refusal(await call("DELETE", "/locks/team-a-forced", jwt[who])), 403, who);
    }
    expectBareRefusal(refusal(await call("DELETE", "/locks/team-a-forced", undefined)), 401, "anonymous");
    expect(proxy.counts()).toEqual({});
    expect(await leaseSnapshot(namespace)).toEqual(before);
    expect((await call("POST", "/locks/team-a-forced/renew", jwt.alice, { token: grant.token })).status).toBe(200);
  });

  it("by an admin ends the grant and records the actor on the Lease", async () => {
    const grant = await acquire("team-a-ended", jwt.alice!);
    proxy.resetCounts();
    const started = Date.now();
    const res = await call("DELETE", "/locks/team-a-ended", jwt.ops);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ released: true });
    expect(proxy.counts()).toEqual({ GET: 1, PATCH: 1 });

    const after = await lease("team-a-ended");
    expect(after.spec.holderIdentity).toBeUndefined();
    expect(after.metadata.annotations["leasegate.io/forced-release-by"]).toBe("ops");
    const at = Date.parse(after.metadata.annotations["leasegate.io/forced-release-at"]);
    expect(at).toBeGreaterThanOrEqual(started - 2000);
    expect(at).toBeLessThanOrEqual(Date.now() + 2000);
    expect(after.metadata.annotations["leasegate.io/token-verifier"]).toBeUndefined();

    const state = await call("GET", "/locks/team-a-ended", jwt.alice);
    expect(state.body).toMatchObject({ status: "free", forcedRelease: { by: "ops" } });
    const lost = await call("POST", "/locks/team-a-ended/renew", jwt.alice, { token: grant.token });
    expect([lost.status, lost.body.code]).toEqual([409, "lock_lost"]);

    await new Promise((r) => setTimeout(r, 100));
    const logged = gw
      .logs()
      .split("\n")
      .filter((l) => l.includes("lock force-released"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toContainEqual(expect.objectContaining({ lock: "team-a-ended", actor: "ops", issuer: issuer.issuer, released: true }));
  });
});
