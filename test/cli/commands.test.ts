import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import { LOCK_TOKEN_PATTERN } from "../../src/locks/lock-token-format.ts";
import { CLI, cliEnv, eventually, NODE, runCli, startCli } from "../support/cli-process.ts";
import { type CliGateway, cliGatewayConfig, startCliGateway } from "../support/cli-gateway.ts";
import { kubectlJson } from "../support/cluster.ts";
import { lockTokenShaped } from "./fixtures/fake-gateway.ts";
import { type GatewayHandle, startNodeGateway } from "../support/gateway.ts";
import { closedPort } from "../support/ports.ts";

/** Files the tests and their commands write; removed afterwards. */
const scratch = mkdtempSync(join(tmpdir(), "leasegate-cli-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CHILD = new URL("./fixtures/child.ts", import.meta.url).pathname;

/** acquire / renew / release / status / list, and the CLI's errors, against a real gateway. */
let ctx: CliGateway;
let jwt: string;
let env: Record<string, string>;

beforeAll(async () => {
  ctx = await startCliGateway("cli-cmd");
  jwt = await ctx.jwt();
  env = cliEnv({ LEASEGATE_URL: ctx.gw.url, LEASEGATE_TOKEN: jwt });
});
afterAll(() => ctx?.close());

/** Parses KEY=value lines as a POSIX shell would assign them (bare or single-quoted). */
function parseAssignments(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.trim().split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (!match) throw new Error(`not an assignment: ${line}`);
    const raw = match[2]!;
    out[match[1]!] = raw.startsWith("'") ? raw.slice(1, -1).replaceAll(`'\\''`, "'") : raw;
  }
  return out;
}

describe("acquire, renew, release, status, list", () => {
  it("walks a grant through its life, and kubectl sees the same", async () => {
    const acquired = await runCli(["acquire", "manual", "--ttl", "20s", "--holder", "release 1.4"], { env });
    expect(acquired.code, acquired.stderr).toBe(0);
    const grant = parseAssignments(acquired.stdout);
    expect(Object.keys(grant)).toEqual([
      "LEASEGATE_LOCK",
      "LEASEGATE_LOCK_TOKEN",
      "LEASEGATE_FENCING_TOKEN",
      "LEASEGATE_HOLDER",
      "LEASEGATE_SUBJECT",
      "LEASEGATE_EXPIRES_AT",
      "LEASEGATE_TTL_SECONDS",
    ]);
    expect(grant).toMatchObject({ LEASEGATE_LOCK: "manual", LEASEGATE_HOLDER: "release 1.4", LEASEGATE_SUBJECT: "ci-runner", LEASEGATE_TTL_SECONDS: "20" });
    expect(grant.LEASEGATE_LOCK_TOKEN).toMatch(LOCK_TOKEN_PATTERN);
    expect(acquired.stderr).not.toContain("::add-mask::");
    const lease = await kubectlJson(["get", "lease", "manual", "-n", ctx.namespace, "-o", "json"]);
    expect(lease.spec.holderIdentity).toBe("release 1.4 (ci-runner)");
    expect(lease.metadata.annotations["leasegate.io/fencing-token"]).toBe(grant.LEASEGATE_FENCING_TOKEN);

    const status = await runCli(["status", "manual"], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^lock: +manual$/m);
    expect(status.stdout).toMatch(/^status: +held$/m);
    expect(status.stdout).toMatch(/^holder: +release 1\.4$/m);
    expect(status.stdout).toMatch(new RegExp(`^fencing token: +${grant.LEASEGATE_FENCING_TOKEN}$`, "m"));
    expect(status.stdout).toMatch(/^expires: +\S+Z \(in \d+s\)$/m);

    const renewed = await runCli(["renew", "manual", "--lock-token", grant.LEASEGATE_LOCK_TOKEN!, "--ttl", "40s"], { env });
    expect(renewed.code, renewed.stderr).toBe(0);
    const after = parseAssignments(renewed.stdout);
    expect(after.LEASEGATE_FENCING_TOKEN).toBe(grant.LEASEGATE_FENCING_TOKEN);
    expect(after.LEASEGATE_TTL_SECONDS).toBe("40");
    expect(Date.parse(after.LEASEGATE_EXPIRES_AT!)).toBeGreaterThan(Date.parse(grant.LEASEGATE_EXPIRES_AT!));
    expect(renewed.stdout).not.toContain(grant.LEASEGATE_LOCK_TOKEN!);

    const statusJson = await runCli(["status", "manual", "--json"], { env });
    expect(JSON.parse(statusJson.stdout)).toMatchObject({ name: "manual", status: "held", holder: "release 1.4", ttlSeconds: 40 });

    // The token from the environment, as `eval "$(leasegate acquire …)"` leaves it.
    const releaseEnv = { ...env, LEASEGATE_LOCK_TOKEN: grant.LEASEGATE_LOCK_TOKEN! };
    const released = await runCli(["release", "manual"], { env: releaseEnv });
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toBe("released=true\n");
    const again = await runCli(["release", "manual", "--json"], { env: releaseEnv });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ released: false });
    expect(again.stderr).toContain("already released");

    const lost = await runCli(["renew", "manual"], { env: releaseEnv });
    expect(lost.code, lost.stderr).toBe(ExitCode.lockLost);
    expect(lost.stderr).toMatch(/renew manual: lock_lost: .*\(HTTP 409\)/);
    expect(lost.stderr).not.toContain(grant.LEASEGATE_LOCK_TOKEN!.split(".")[2]!);

    expect((await runCli(["status", "manual"], { env })).stdout).toMatch(/^status: +free$/m);
    const freed = await kubectlJson(["get", "lease", "manual", "-n", ctx.namespace, "-o", "json"]);
    expect(freed.spec.holderIdentity).toBeUndefined();
  });

  it("prints assignments that a shell can eval, whatever the holder label contains", async () => {
    const script = `set -a; eval "$("$NODE" "$CLI" acquire evaled --holder "$WEIRD")"; set +a
printf '%s\\n' "$LEASEGATE_HOLDER"
"$NODE" "$CLI" release evaled`;
    const result = spawnSync("sh", ["-c", script], { env: { ...env, NODE, CLI, WEIRD: "it's $HOME; `id` \"x\"" }, encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe("it's $HOME; `id` \"x\"\nreleased=true\n");
  });

  it("prints the grant as JSON with --json", async () => {
    const result = await runCli(["acquire", "as-json", "--json", "--ttl", "5s"], { env });
    expect(result.code, result.stderr).toBe(0);
    const grant = JSON.parse(result.stdout);
    expect(grant).toMatchObject({ name: "as-json", subject: "ci-runner", ttlSeconds: 5 });
    expect(grant.token).toMatch(LOCK_TOKEN_PATTERN);
    expect(grant.fencingToken).toMatch(/^\d+$/);
  });

  it("gives a retried acquire with the same --idempotency-key the same grant", async () => {
    const args = ["acquire", "idem", "--json", "--idempotency-key", "job-4711"];
    const first = await runCli(args, { env });
    const retry = await runCli(args, { env });
    expect([first.code, retry.code], first.stderr + retry.stderr).toEqual([0, 0]);
    const [a, b] = [JSON.parse(first.stdout), JSON.parse(retry.stdout)];
    expect([b.token, b.fencingToken]).toEqual([a.token, a.fencingToken]);
    const other = await runCli(["acquire", "idem", "--idempotency-key", "job-4712"], { env });
    expect(other.code, other.stderr).toBe(ExitCode.notAcquired);
  });

  it("writes GitHub step outputs and masks the lock token under GitHub Actions", async () => {
    const outputFile = join(mkdtempSync(join(scratch, "t-")), "github_output");
    const result = await runCli(["acquire", "gh-out", "--holder", "run 9"], {
      env: { ...env, GITHUB_ACTIONS: "true", GITHUB_OUTPUT: outputFile },
    });
    expect(result.code, result.stderr).toBe(0);
    const grant = parseAssignments(result.stdout);
    expect(readFileSync(outputFile, "utf8")).toBe(
      `token=${grant.LEASEGATE_LOCK_TOKEN}\nfencing-token=${grant.LEASEGATE_FENCING_TOKEN}\nexpires-at=${grant.LEASEGATE_EXPIRES_AT}\nholder=run 9\n`,
    );
    expect(result.stderr).toContain(`::add-mask::${grant.LEASEGATE_LOCK_TOKEN}\n`);
  });

  it("gives up at once on a held lock without --wait (71), and waits with it", async () => {
    // The holder: a run that keeps the lock (renewing it) until it is told to stop.
    const dir = mkdtempSync(join(scratch, "t-"));
    const holder = startCli(["run", "contested", "--ttl", "4s", "--holder", "holder-1", "--", NODE, CHILD, "trap", dir], { env });
    await eventually(() => existsSync(join(dir, "started")), "the holder's command to start");
    const first = JSON.parse(readFileSync(join(dir, "started"), "utf8")).env.LEASEGATE_FENCING_TOKEN as string;

    const other = cliEnv({ LEASEGATE_URL: ctx.gw.url, LEASEGATE_TOKEN: await ctx.jwt("other") });
    const refused = await runCli(["acquire", "contested"], { env: other });
    expect(refused.code, refused.stderr).toBe(ExitCode.notAcquired);
    expect(refused.stderr).toMatch(/acquire contested: not acquired \(--wait 0\): held by holder-1 \(ci-runner\) until/);

    const waiter = startCli(["acquire", "contested", "--wait", "60s", "--holder", "patient"], { env: other });
    await waiter.waitForStderr(/waiting for contested: 1st in line; held by holder-1 \(ci-runner\)/);
    process.kill(holder.pid, "SIGTERM");
    expect((await holder.exited).code).toBe(143);
    const waited = await waiter.exited;
    expect(waited.code, waited.stderr).toBe(0);
    const grant = parseAssignments(waited.stdout);
    expect(grant.LEASEGATE_HOLDER).toBe("patient");
    expect(BigInt(grant.LEASEGATE_FENCING_TOKEN!)).toBeGreaterThan(BigInt(first));
  });

  it("lists the locks one may read as a table, or JSON", async () => {
    for (const name of ["team-x.alpha", "team-x.beta"]) {
      const res = await runCli(["acquire", name, "--holder", `h-${name}`], { env });
      expect(res.code, res.stderr).toBe(0);
    }
    const grant = parseAssignments((await runCli(["acquire", "team-x.gamma"], { env })).stdout);
    await runCli(["release", "team-x.gamma"], { env: { ...env, LEASEGATE_LOCK_TOKEN: grant.LEASEGATE_LOCK_TOKEN! } });

    const listed = await runCli(["list", "--prefix", "team-x."], { env });
    expect(listed.code, listed.stderr).toBe(0);
    const rows = listed.stdout.trim().split("\n").map((l) => l.split(/\s{2,}/));
    expect(rows[0]).toEqual(["NAME", "STATUS", "HOLDER", "SUBJECT", "EXPIRES IN"]);
    expect(rows.slice(1).map((r) => r.slice(0, 4))).toEqual([
      ["team-x.alpha", "held", "h-team-x.alpha", "ci-runner"],
      ["team-x.beta", "held", "h-team-x.beta", "ci-runner"],
      ["team-x.gamma", "free", "-", "-"],
    ]);
    expect(rows[1]![4]).toMatch(/^\d+s$/);

    const json = await runCli(["list", "--prefix", "team-x.", "--json"], { env });
    expect(JSON.parse(json.stdout).items.map((i: { name: string }) => i.name)).toEqual(["team-x.alpha", "team-x.beta", "team-x.gamma"]);
    const none = await runCli(["list", "--prefix", "nothing-here"], { env });
    expect(none.code).toBe(0);
    expect(none.stdout).toBe("");
    expect(none.stderr).toContain("no locks");
  });

  it("shows a lock that was never acquired as free", async () => {
    const result = await runCli(["status", "never-seen"], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^status: +free$/m);
  });

  it("reads a GitLab ID token from the variable named by --gitlab-id-token-var", async () => {
    const gitlab = cliEnv({ LEASEGATE_URL: ctx.gw.url, GITLAB_CI: "true", CI_PROJECT_PATH: "group/app", CI_JOB_ID: "991", LEASEGATE_ID_TOKEN: await ctx.jwt("gitlab") });
    const ok = await runCli(["status", "never-seen", "--gitlab-id-token-var", "LEASEGATE_ID_TOKEN"], { env: gitlab });
    expect(ok.code, ok.stderr).toBe(0);
    const acquired = await runCli(["acquire", "gl-lock"], { env: { ...gitlab, LEASEGATE_GITLAB_ID_TOKEN_VAR: "LEASEGATE_ID_TOKEN" } });
    expect(acquired.code, acquired.stderr).toBe(0);
    expect(parseAssignments(acquired.stdout)).toMatchObject({ LEASEGATE_SUBJECT: "ci-gitlab", LEASEGATE_HOLDER: "group/app job 991" });

    const unset = await runCli(["status", "x", "--gitlab-id-token-var", "MISSING_TOKEN"], { env: gitlab });
    expect(unset.code).toBe(ExitCode.usage);
    expect(unset.stderr).toContain("$MISSING_TOKEN is empty or unset; declare it under id_tokens:");
    const none = await runCli(["status", "x"], { env: gitlab });
    expect(none.code).toBe(ExitCode.usage);
    expect(none.stderr).toContain("--gitlab-id-token-var");
  });
});

describe("errors", () => {
  it("exits 73 when the gateway cannot be reached, for every subcommand", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const unreachable = cliEnv({ LEASEGATE_URL: url, LEASEGATE_TOKEN: jwt, LEASEGATE_LOCK_TOKEN: lockTokenShaped() });
    for (const args of [["acquire", "x"], ["run", "x", "--wait", "0", "--", "true"], ["renew", "x"], ["release", "x"], ["status", "x"], ["list"]]) {
      const result = await runCli(args, { env: unreachable });
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(ExitCode.unavailable);
      expect(result.stderr).toContain(`cannot reach the gateway at ${url}: ECONNREFUSED`);
      expect(result.stderr).not.toContain(jwt.split(".")[2]!);
    }
  });

  it("exits 73 when the gateway's Kubernetes backend is unavailable", async () => {
    let gw: GatewayHandle | undefined;
    try {
      gw = await startNodeGateway({
        namespace: ctx.namespace,
        config: cliGatewayConfig(ctx.issuer),
        server: `http://127.0.0.1:${await closedPort()}`,
        kubernetes: { requestTimeoutMs: 500 },
      });
      const result = await runCli(["acquire", "x"], { env: { ...env, LEASEGATE_URL: gw.url } });
      expect(result.code, result.stderr).toBe(ExitCode.unavailable);
      expect(result.stderr).toMatch(/acquire x: backend_unavailable: .*\(HTTP 503\)/);
    } finally {
      await gw?.stop();
    }
  });

  it("reports refused credentials and permissions as 74, never printing the JWT", async () => {
    const expired = await ctx.issuer.mint({ sub: "ci-runner" }, { expiresIn: -600 });
    const result = await runCli(["acquire", "x"], { env: { ...env, LEASEGATE_TOKEN: expired } });
    expect(result.code).toBe(ExitCode.usage);
    expect(result.stderr).toMatch(/unauthenticated: .*\(HTTP 401\); the gateway did not accept the token from LEASEGATE_TOKEN/);
    expect(result.stderr).not.toContain(expired.split(".")[2]!);

    const stranger = await ctx.issuer.mint({ sub: "nobody" });
    const forbidden = await runCli(["status", "x", "--token", stranger], { env: cliEnv({ LEASEGATE_URL: ctx.gw.url }) });
    expect(forbidden.code).toBe(ExitCode.usage);
    expect(forbidden.stderr).toMatch(/forbidden: .*\(HTTP 403\)/);
    expect(forbidden.stderr).not.toContain(stranger.split(".")[2]!);
  });

  it("refuses to take a Lease it does not manage (74)", async () => {
    await kubectlJson(["create", "-n", ctx.namespace, "-o", "json", "-f", "-"], {
      stdin: JSON.stringify({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "foreign" }, spec: { holderIdentity: "kcm" } }),
    });
    const result = await runCli(["run", "foreign", "--", "true"], { env });
    expect(result.code).toBe(ExitCode.usage);
    expect(result.stderr).toContain("run foreign: lease_not_managed");
    const lease = await kubectlJson(["get", "lease", "foreign", "-n", ctx.namespace, "-o", "json"]);
    expect(lease.spec.holderIdentity).toBe("kcm");
  });
});
