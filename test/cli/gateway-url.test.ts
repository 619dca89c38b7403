import { afterEach, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import { cliEnv, NODE, runCli } from "../support/cli-process.ts";
import { type FakeGateway, lockTokenShaped, startFakeGateway } from "./fixtures/fake-gateway.ts";
import { closedPort } from "../support/ports.ts";

/**
 * Requests carry the caller's JWT and lock tokens, and the CLI acts on the answers: they go to
 * the configured gateway URL and nowhere else. No redirect is followed, and plain http:// is
 * for loopback only.
 */
const CHILD = new URL("./fixtures/child.ts", import.meta.url).pathname;
const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaS1ydW5uZXIifQ.c2lnbmF0dXJl";
const TOKEN = lockTokenShaped();

const servers: FakeGateway[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** `elsewhere` would grant anything; `gateway` redirects every request there with `status`. */
async function redirectingGateway(status: number) {
  const now = new Date().toISOString();
  const elsewhere = await startFakeGateway(() => ({
    status: 200,
    body: { name: "x", namespace: "ns", lease: "x", subject: "s", token: TOKEN, fencingToken: "1", acquiredAt: now, renewedAt: now, expiresAt: now, ttlSeconds: 30, transitions: 0, metadata: {}, items: [], released: true },
  }));
  const gateway = await startFakeGateway((request) => ({ status, headers: { location: `${elsewhere.url}${request.path}` } }));
  servers.push(elsewhere, gateway);
  return { gateway, elsewhere };
}

describe("redirects", () => {
  it.each([301, 302, 303, 307, 308])("are not followed: a %i to another server is a configuration error (74) and that server sees nothing", async (status) => {
    const { gateway, elsewhere } = await redirectingGateway(status);
    const result = await runCli(["acquire", "deploy", "--wait", "30s"], { env: cliEnv({ LEASEGATE_URL: gateway.url, LEASEGATE_TOKEN: JWT }) });
    expect(result.code, result.stderr).toBe(ExitCode.usage);
    expect(result.stderr).toBe(
      `leasegate: acquire deploy: the gateway at ${gateway.url} answered with a redirect, which leasegate does not follow: set --url or LEASEGATE_URL to the gateway's own https:// address\n`,
    );
    // Not retried while waiting: one request, and none at the redirect's target.
    expect(gateway.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it.each([
    [["acquire", "deploy"]],
    [["renew", "deploy"]],
    [["release", "deploy"]],
    [["status", "deploy"]],
    [["list"]],
    [["run", "deploy", "--wait", "30s", "--", NODE, CHILD, "exit", "0"]],
  ])("are refused by %j, whose lock token and JWT stay with the configured gateway", async (args) => {
    const { gateway, elsewhere } = await redirectingGateway(307);
    const result = await runCli(args, { env: cliEnv({ LEASEGATE_URL: gateway.url, LEASEGATE_TOKEN: JWT, LEASEGATE_LOCK_TOKEN: TOKEN }) });
    expect(result.code, result.stderr).toBe(ExitCode.usage);
    expect(result.stderr).toContain(`the gateway at ${gateway.url} answered with a redirect`);
    expect(gateway.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
  });
});

describe("plain http://", () => {
  it.each(["http://leasegate.example.com", "http://10.0.0.7:8080", "http://128.0.0.1", "http://localhost.example.com", "http://[::2]:8080", "http://[::ffff:7f00:1]"])(
    "is refused for %s, which is not loopback (74, before any request)",
    async (url) => {
      const result = await runCli(["status", "deploy"], { env: cliEnv({ LEASEGATE_URL: url, LEASEGATE_TOKEN: JWT }) });
      expect(result.code, result.stderr).toBe(ExitCode.usage);
      expect(result.stderr).toMatch(/^leasegate: gateway URL must use https:\/\/ \(plain http:\/\/ only for loopback: 127\.0\.0\.0\/8, \[::1\], localhost\), not http:\/\//);
    },
  );

  it.each(["http://127.0.0.1", "http://127.3.2.1", "http://127.1", "http://localhost", "http://[::1]", "https://127.0.0.1"])("is accepted for loopback (%s), and so is https://", async (base) => {
    const url = `${base}:${await closedPort()}`;
    const result = await runCli(["status", "deploy"], { env: cliEnv({ LEASEGATE_URL: url, LEASEGATE_TOKEN: JWT }) });
    // Accepted, then unreachable: nothing listens there.
    expect(result.code, result.stderr).toBe(ExitCode.unavailable);
    expect(result.stderr).toContain("cannot reach the gateway at");
  });
});
