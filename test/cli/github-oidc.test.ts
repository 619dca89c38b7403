import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import { LOCK_TOKEN_PATTERN } from "../../src/locks/lock-token-format.ts";
import { type ActionsTokenEndpoint, startActionsTokenEndpoint } from "../support/cli-github-oidc.ts";
import { cliEnv, NODE, runCli } from "../support/cli-process.ts";
import { newTestNamespace } from "../support/cluster.ts";
import { type GatewayHandle, startNodeGateway } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/** Files the tests and their commands write; removed afterwards. */
const scratch = mkdtempSync(join(tmpdir(), "leasegate-cli-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * GitHub Actions OIDC end to end: an emulated Actions token endpoint minting fresh tokens in
 * GitHub's claim format (3-second ones where their lifetime matters); the gateway configured with the policy example from
 * docs/cli.md (with the local issuer in place of GitHub's); the real CLI in between.
 */
const root = new URL("../..", import.meta.url).pathname;
const CHILD = new URL("./fixtures/child.ts", import.meta.url).pathname;
const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";
const SHORT_LIFETIME_SECONDS = 3;

interface GatewayConfig {
  issuers: Array<{ issuer: string; audiences: string[]; jwksUri: string; algorithms?: string[] }>;
  policy: Array<{ match: Record<string, string>; actions: string[]; locks: string[] }>;
}

/** The gateway configuration example for GitHub Actions in docs/cli.md. */
function docsExample(): GatewayConfig {
  const markdown = readFileSync(join(root, "docs/cli.md"), "utf8");
  const blocks = [...markdown.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes('"policy"') && b.includes(GITHUB_ISSUER));
  if (!block) throw new Error("docs/cli.md has no gateway configuration example for GitHub's issuer");
  return JSON.parse(block) as GatewayConfig;
}

let issuer: OidcIssuer;
let endpoint: ActionsTokenEndpoint;
let gw: GatewayHandle;
let example: GatewayConfig;
let opsJwt: string;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  endpoint = await startActionsTokenEndpoint(issuer, { lifetimeSeconds: 300 });
  example = docsExample();
  const github = example.issuers.find((i) => i.issuer === GITHUB_ISSUER)!;
  const namespace = await newTestNamespace("cli-gh");
  gw = await startNodeGateway({
    namespace,
    config: {
      issuers: [
        // GitHub's issuer entry from the docs, pointed at the local issuer; no clock tolerance, so
        // a token is refused the moment it expires.
        { ...github, issuer: issuer.issuer, jwksUri: issuer.jwksUri, clockToleranceSeconds: 0 },
      ],
      policy: [
        ...(JSON.parse(JSON.stringify(example.policy).replaceAll(GITHUB_ISSUER, issuer.issuer)) as unknown[]),
        { match: { iss: issuer.issuer, sub: "ops" }, actions: ["admin", "read"], locks: ["*"] },
      ],
      skewAllowanceSeconds: 0,
    },
  });
  opsJwt = await issuer.mint({ sub: "ops" }, { audience: "leasegate", expiresIn: 3600 });
});
afterAll(async () => {
  await gw?.stop();
  await endpoint?.close();
  await issuer?.close();
});

const actionsEnv = (extra: Record<string, string> = {}) =>
  cliEnv({
    LEASEGATE_URL: gw.url,
    GITHUB_ACTIONS: "true",
    GITHUB_REPOSITORY: "org/app",
    GITHUB_WORKFLOW: "deploy",
    GITHUB_JOB: "deploy",
    GITHUB_RUN_ID: "7100000001",
    GITHUB_SERVER_URL: "https://github.com",
    ACTIONS_ID_TOKEN_REQUEST_URL: endpoint.requestUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: endpoint.requestToken,
    ...extra,
  });

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
const lockState = async (name: string) => (await callGateway(gw.url, "GET", `/locks/${name}`, { jwt: opsJwt })).body;

/** Secrets that must never appear in the CLI's messages. */
function expectNoSecrets(text: string, since: number) {
  expect(text).not.toContain(endpoint.requestToken);
  for (const { jwt } of endpoint.issued().slice(since)) expect(text).not.toContain(jwt.split(".")[2]!);
}

describe("GitHub Actions OIDC", () => {
  it("binds the docs' example to immutable IDs and the environment, for deploy-prod only", () => {
    const [rule] = example.policy;
    expect(example.policy).toHaveLength(1);
    expect(rule!.match).toMatchObject({ iss: GITHUB_ISSUER, repository_id: "123456789", repository_owner_id: "987654", environment: "production" });
    expect(rule!.match).not.toHaveProperty("repository");
    expect(rule!.locks).toEqual(["deploy-prod"]);
  });

  it("acquires deploy-prod with a token from the Actions endpoint, writing step outputs and masking the lock token", async () => {
    const before = endpoint.issued().length;
    const outputFile = join(mkdtempSync(join(scratch, "t-")), "output");
    const acquired = await runCli(["acquire", "deploy-prod", "--ttl", "30s"], { env: actionsEnv({ GITHUB_OUTPUT: outputFile }) });
    expect(acquired.code, acquired.stderr).toBe(0);

    const issued = endpoint.issued().slice(before);
    expect(issued.map((t) => t.audience)).toEqual(["leasegate"]);
    expect(claimsOf(issued[0]!.jwt)).toMatchObject({ iss: issuer.issuer, aud: "leasegate", sub: "repo:org/app:environment:production", repository_id: "123456789" });

    const outputs = Object.fromEntries(readFileSync(outputFile, "utf8").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    expect(Object.keys(outputs).sort()).toEqual(["expires-at", "fencing-token", "holder", "token"]);
    expect(outputs.token).toMatch(LOCK_TOKEN_PATTERN);
    expect(outputs.holder).toBe("org/app deploy/deploy https://github.com/org/app/actions/runs/7100000001");
    expect(acquired.stderr).toContain(`::add-mask::${outputs.token}`);
    expect(acquired.stdout).toContain(`LEASEGATE_LOCK_TOKEN=${outputs.token}\n`);
    expect(acquired.stdout).toContain(`LEASEGATE_FENCING_TOKEN=${outputs["fencing-token"]}\n`);
    expect(await lockState("deploy-prod")).toMatchObject({ status: "held", subject: "repo:org/app:environment:production", fencingToken: outputs["fencing-token"] });

    const released = await runCli(["release", "deploy-prod"], { env: actionsEnv({ LEASEGATE_LOCK_TOKEN: outputs.token! }) });
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toBe("released=true\n");
    expect(endpoint.issued().length - before).toBe(2);
    expect((await lockState("deploy-prod")).status).toBe("free");
  });

  it("is refused (403, exit 74) for any other lock, saying why without secrets", async () => {
    const before = endpoint.issued().length;
    const result = await runCli(["acquire", "deploy-staging"], { env: actionsEnv() });
    expect(result.code, result.stderr).toBe(ExitCode.usage);
    expect(result.stderr).toMatch(/acquire deploy-staging: forbidden: .*\(HTTP 403\)/);
    expect(endpoint.issued().length).toBe(before + 1);
    expectNoSecrets(result.stderr + result.stdout, before);
  });

  it.each([
    ["a recycled repository name (same name, another repository_id)", { repository_id: "555000111" }],
    ["a recycled owner name", { repository_owner_id: "1" }],
    ["the same repository outside the production environment", { environment: undefined, sub: "repo:org/app:ref:refs/heads/main" }],
  ])("refuses deploy-prod to %s", async (_, claims) => {
    endpoint.setClaims(claims);
    try {
      const result = await runCli(["acquire", "deploy-prod"], { env: actionsEnv() });
      expect(result.code, result.stderr).toBe(ExitCode.usage);
      expect(result.stderr).toContain("forbidden");
    } finally {
      endpoint.setClaims({});
    }
  });

  it("fetches a fresh token for every renewal of a run that outlives any single token", async () => {
    const before = endpoint.issued().length;
    endpoint.setLifetime(SHORT_LIFETIME_SECONDS);
    const result = await runCli(["run", "deploy-prod", "--ttl", "4s", "--", NODE, CHILD, "sleep", "8000"], { env: actionsEnv() }).finally(() =>
      endpoint.setLifetime(300),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/renewing deploy-prod failed/);
    expect(result.stderr).toContain("released deploy-prod");

    const issued = endpoint.issued().slice(before);
    // acquire + a renewal about every 1.3 s for 8 s + release.
    expect(issued.length).toBeGreaterThanOrEqual(1 + 5 + 1);
    expect(new Set(issued.map((t) => t.jwt)).size).toBe(issued.length);
    for (const { jwt } of issued) {
      const claims = claimsOf(jwt);
      expect(Number(claims.exp) - Number(claims.iat)).toBe(SHORT_LIFETIME_SECONDS);
    }
    // The run outlived the first token by more than the TTL: renewing with that token would have
    // been refused from its expiry on, and the lock lost (72) one TTL later.
    expect(result.ms).toBeGreaterThan((SHORT_LIFETIME_SECONDS + 4) * 1000);
    expectNoSecrets(result.stderr + result.stdout, before);
    expect((await lockState("deploy-prod")).status).toBe("free");
  });

  it("asks for the --audience given, and reports the gateway's 401 for a wrong one", async () => {
    const before = endpoint.issued().length;
    const result = await runCli(["acquire", "deploy-prod", "--audience", "sts.amazonaws.com"], { env: actionsEnv() });
    expect(endpoint.issued().slice(before).map((t) => t.audience)).toEqual(["sts.amazonaws.com"]);
    expect(result.code, result.stderr).toBe(ExitCode.usage);
    expect(result.stderr).toMatch(/unauthenticated: .*\(HTTP 401\); the gateway did not accept the token from GitHub Actions OIDC/);
  });

  it("explains a refused or failing token endpoint, and a job without id-token: write", async () => {
    endpoint.failWith(403);
    const refused = await runCli(["acquire", "deploy-prod"], { env: actionsEnv() }).finally(() => endpoint.failWith(undefined));
    expect(refused.code, refused.stderr).toBe(ExitCode.usage);
    expect(refused.stderr).toContain("GitHub Actions refused an OIDC token (HTTP 403)");

    endpoint.failWith(503);
    const failing = await runCli(["acquire", "deploy-prod"], { env: actionsEnv() }).finally(() => endpoint.failWith(undefined));
    expect(failing.code, failing.stderr).toBe(ExitCode.unavailable);
    expect(failing.stderr).toContain("the GitHub Actions OIDC token endpoint answered HTTP 503");

    const noPermission = await runCli(["acquire", "deploy-prod"], {
      env: actionsEnv({ ACTIONS_ID_TOKEN_REQUEST_URL: "", ACTIONS_ID_TOKEN_REQUEST_TOKEN: "" }),
    });
    expect(noPermission.code).toBe(ExitCode.usage);
    expect(noPermission.stderr).toContain("add `permissions: id-token: write`");
    expect(noPermission.stderr.trim().split("\n")).toHaveLength(1);
  });
});
