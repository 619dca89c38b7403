import { afterEach, describe, expect, it } from "vitest";
import {
  CredentialsError,
  GatewayUrlError,
  githubActionsOidc,
  gitlabIdToken,
  InvalidResponseError,
  LeasegateClient,
  LockLostError,
  RedirectRefusedError,
  staticToken,
  UnavailableError,
  withLock,
} from "../../src/client/index.ts";
import { type Answer, grantOf, problem, type ScriptedGateway, startScriptedGateway, TOKEN } from "./fixtures/scripted-gateway.ts";

/**
 * What the client does when the gateway (or what answers at its URL) misbehaves: a scripted
 * server stands in for failures a real gateway cannot be made to have on cue.
 */
const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmMifQ.c2lnbmF0dXJl";
const servers: ScriptedGateway[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function scripted(script: (path: string, n: number) => Answer | Promise<Answer>): Promise<{ gateway: ScriptedGateway; client: LeasegateClient }> {
  const counts = new Map<string, number>();
  const gateway = await startScriptedGateway((request) => {
    const n = counts.get(request.path) ?? 0;
    counts.set(request.path, n + 1);
    return script(request.path, n);
  });
  servers.push(gateway);
  return { gateway, client: new LeasegateClient({ url: gateway.url, credentials: staticToken(JWT) }) };
}

const released: Answer = { status: 200, body: { released: true } };

describe("answers the client cannot use", () => {
  it("a redirect is refused, not followed: the JWT and the lock token stay with the configured gateway", async () => {
    const elsewhere = await startScriptedGateway(() => grantOf("x", 30));
    servers.push(elsewhere);
    const { gateway, client } = await scripted((path) => ({ status: 307, headers: { location: `${elsewhere.url}${path}` } }));
    const refused = await client.release("x", TOKEN).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RedirectRefusedError);
    expect(refused).toMatchObject({ origin: gateway.url, status: 307 });
    expect(elsewhere.seen).toHaveLength(0);
  });

  it("an answer that is not a JSON object, a huge one, or a grant without its token is an InvalidResponseError", async () => {
    const { client } = await scripted((path) => {
      if (path.endsWith("/acquire")) return { status: 200, body: { name: "x", fencingToken: "1" } };
      if (path.endsWith("/release")) return { status: 200, raw: "x".repeat(2 * 1024 * 1024) };
      return { status: 200, raw: "<html>captive portal</html>" };
    });
    await expect(client.state("x")).rejects.toBeInstanceOf(InvalidResponseError);
    await expect(client.release("x", TOKEN)).rejects.toBeInstanceOf(InvalidResponseError);
    await expect(client.acquire("x")).rejects.toThrow(/lacks its token/);
  });
});

describe("withLock over an unreliable gateway", () => {
  it("retries an acquire that got no usable answer, and renews at once a grant that may be older than its answer", async () => {
    const { gateway, client } = await scripted((path, n) => {
      if (path.endsWith("/acquire")) return n < 2 ? problem(503, "backend_unavailable", {}, { "retry-after": "0" }) : grantOf("flaky", 30);
      if (path.endsWith("/renew")) return grantOf("flaky", 30);
      return released;
    });
    const retried: unknown[] = [];
    await withLock(client, "flaky", () => new Promise((resolve) => setTimeout(resolve, 300)), { ttlSeconds: 30, observer: { retrying: (err) => retried.push(err) } });
    expect(retried).toHaveLength(2);
    expect(retried[0]).toBeInstanceOf(UnavailableError);
    // Every attempt is one acquisition: one key.
    const acquires = gateway.calls("/locks/flaky/acquire");
    expect(new Set(acquires.map((r) => r.headers["idempotency-key"])).size).toBe(1);
    // Renewed right away, not after ttl/3 (10 s): the grant may be the first attempt's.
    expect(gateway.calls("/locks/flaky/renew")).toHaveLength(1);
    expect(gateway.calls("/locks/flaky/release")).toHaveLength(1);
  });

  it("declares the lock lost at its expiry even while a renewal hangs, and still releases", async () => {
    const { gateway, client } = await scripted((path) => {
      if (path.endsWith("/acquire")) return grantOf("hanging", 2);
      if (path.endsWith("/renew")) return "hang";
      return released;
    });
    const started = performance.now();
    let lostAfter = 0;
    const error = await withLock(client, "hanging", async ({ signal }) => {
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      lostAfter = performance.now() - started;
    }, { ttlSeconds: 2 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(LockLostError);
    expect(error).toMatchObject({ code: "grant_expired" });
    // The grant's 2 s, counted from when the acquire was sent: not later, whatever the renewal does.
    expect(lostAfter).toBeGreaterThan(1800);
    expect(lostAfter).toBeLessThan(2400);
    expect(gateway.calls("/locks/hanging/release")).toHaveLength(1);
  });

  it("keeps the lock through renewals that fail for a while, reporting them", async () => {
    const { client } = await scripted((path, n) => {
      if (path.endsWith("/acquire")) return grantOf("bumpy", 3);
      if (path.endsWith("/renew")) return n < 2 ? problem(503, "backend_unavailable") : grantOf("bumpy", 3);
      return released;
    });
    const failures: number[] = [];
    const recovered: number[] = [];
    const value = await withLock(client, "bumpy", async (lock) => {
      await new Promise((resolve) => setTimeout(resolve, 2500));
      return lock.lost;
    }, { ttlSeconds: 3, observer: { renewalFailed: (_err, n) => failures.push(n), recovered: (n) => recovered.push(n) } });
    expect(value).toBe(false);
    expect(failures).toEqual([1, 2]);
    expect(recovered).toEqual([2]);
  });

  it("passes the caller's abort on to the work's signal, with its reason, and releases", async () => {
    const { gateway, client } = await scripted((path) => (path.endsWith("/acquire") ? grantOf("stopped", 30) : released));
    const controller = new AbortController();
    const reason = new Error("deploy cancelled");
    const seen = await withLock(client, "stopped", ({ signal }) => {
      setTimeout(() => controller.abort(reason), 50);
      return new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason)));
    }, { signal: controller.signal });
    expect(seen).toBe(reason);
    expect(gateway.calls("/locks/stopped/release")).toHaveLength(1);
  });
});

describe("credentials", () => {
  it("GitHub Actions OIDC: a fresh token for every request, for the audience asked, from the runner's endpoint", async () => {
    let issued = 0;
    const endpoint = await startScriptedGateway(() => ({ status: 200, body: { value: `${JWT}${issued++}` } }));
    servers.push(endpoint);
    const credentials = githubActionsOidc({ requestUrl: `${endpoint.url}/token?api-version=2.0`, requestToken: "runner-secret", audience: "leasegate" });
    const { gateway } = await scripted(() => ({ status: 200, body: { released: false } }));
    const client = new LeasegateClient({ url: gateway.url, credentials });
    await client.release("a", TOKEN);
    await client.release("a", TOKEN);
    expect(gateway.seen.map((r) => r.headers.authorization)).toEqual([`Bearer ${JWT}0`, `Bearer ${JWT}1`]);
    expect(endpoint.seen[0]!.path).toBe("/token?api-version=2.0&audience=leasegate");
    expect(endpoint.seen[0]!.headers.authorization).toBe("Bearer runner-secret");
  });

  it("GitHub Actions OIDC: a refusal is a CredentialsError, a failing endpoint an UnavailableError", async () => {
    let status = 403;
    const endpoint = await startScriptedGateway(() => ({ status }));
    servers.push(endpoint);
    const credentials = githubActionsOidc({ requestUrl: `${endpoint.url}/token`, requestToken: "t" });
    await expect(credentials.token()).rejects.toThrow(CredentialsError);
    status = 503;
    await expect(credentials.token()).rejects.toThrow(UnavailableError);
  });

  it("a static or GitLab token must look like a JWT, and is never repeated in the error", () => {
    expect(() => staticToken("not a jwt")).toThrow(/does not look like a JWT/);
    expect(() => staticToken("not a jwt")).not.toThrow(/not a jwt/);
    expect(() => gitlabIdToken({ variable: "LEASEGATE_ID_TOKEN", value: "" })).toThrow(/\$LEASEGATE_ID_TOKEN is empty or unset/);
    expect(gitlabIdToken({ variable: "LEASEGATE_ID_TOKEN", value: JWT }).source).toBe("$LEASEGATE_ID_TOKEN (GitLab id_tokens)");
  });

  it("the gateway URL is https://, or http:// only for this machine", () => {
    expect(() => new LeasegateClient({ url: "http://leasegate.example.com", credentials: staticToken(JWT) })).toThrow(GatewayUrlError);
    expect(() => new LeasegateClient({ url: "https://user:pw@leasegate.example.com", credentials: staticToken(JWT) })).toThrow(GatewayUrlError);
    expect(new LeasegateClient({ url: "https://leasegate.example.com/base/", credentials: staticToken(JWT) }).url).toBe("https://leasegate.example.com/base");
  });
});
