import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import { LOCK_TOKEN_PREFIX } from "../../src/locks/lock-token-format.ts";
import { startNodeGateway } from "../support/gateway.ts";
import { type CliProcess, cliEnv, eventually, NODE, processAlive, runCli, startCli } from "../support/cli-process.ts";
import { type CliGateway, cliGatewayConfig, startCliGateway } from "../support/cli-gateway.ts";
import { kubectlJson } from "../support/cluster.ts";
import { callGateway } from "../support/http.ts";

/** Files the tests and their commands write; removed afterwards. */
const scratch = mkdtempSync(join(tmpdir(), "leasegate-cli-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * `leasegate run` end to end: the real CLI process, a real gateway process, the real
 * kube-apiserver, and real commands under it.
 */
const CHILD = new URL("./fixtures/child.ts", import.meta.url).pathname;
let ctx: CliGateway;
let env: Record<string, string>;
const tmp = () => mkdtempSync(join(scratch, "t-"));

beforeAll(async () => {
  ctx = await startCliGateway("cli-run");
  env = cliEnv({ LEASEGATE_URL: ctx.gw.url, LEASEGATE_TOKEN: await ctx.jwt() });
});
afterAll(() => ctx?.close());

interface Started {
  pid: number;
  env: Record<string, string>;
}
/** What the command wrote when it started; fails at once (with the CLI's stderr) if the CLI ends first. */
async function startedIn(dir: string, cli: CliProcess): Promise<Started> {
  const file = join(dir, "started");
  let exited = false;
  void cli.exited.then(() => (exited = true));
  const found = await eventually(() => existsSync(file) || exited, "the command to start", 30_000).catch((err: Error) => {
    throw new Error(`${err.message}\nCLI stderr so far:\n${cli.stderr()}`);
  });
  if (!existsSync(file)) throw new Error(`the CLI exited before its command started (${found}):\n${cli.stderr()}`);
  return JSON.parse(readFileSync(file, "utf8")) as Started;
}

describe("leasegate run", () => {
  it("serializes two concurrent runs of one lock: both succeed, their commands never overlap", async () => {
    const file = join(tmp(), "intervals");
    const run = (holder: string) =>
      runCli(["run", "serial", "--ttl", "4s", "--wait", "60s", "--holder", holder, "--", NODE, CHILD, "interval", file, "1500"], { env });
    const [a, b] = await Promise.all([run("runner-a"), run("runner-b")]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(a.stderr + b.stderr).not.toMatch(/renewing serial failed/);

    const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(" "));
    expect(lines.map((l) => l[0])).toEqual(["start", "end", "start", "end"]);
    const [firstStart, firstEnd, secondStart, secondEnd] = lines.map((l) => Number(l[1]));
    expect(firstEnd!).toBeGreaterThanOrEqual(firstStart!);
    expect(secondStart!).toBeGreaterThanOrEqual(firstEnd!);
    expect(secondEnd!).toBeGreaterThanOrEqual(secondStart!);
    // Each command saw its own grant's fencing token, and the later grant's is larger.
    expect(BigInt(lines[2]![2]!)).toBeGreaterThan(BigInt(lines[0]![2]!));

    // The one that waited said so, naming the other as the holder.
    const waiter = [a, b].find((r) => r.stderr.includes("waiting for serial"));
    expect(waiter, a.stderr + b.stderr).toBeDefined();
    const other = waiter === a ? "runner-b" : "runner-a";
    expect(waiter!.stderr).toMatch(new RegExp(`waiting for serial: 1st in line; held by ${other} \\(ci-runner\\) until \\S+Z \\(in (\\d+m)?\\d+s\\); waited \\d+s of 1m00s`));
    expect(await ctx.lockStatus("serial")).toBe("free");
  });

  it("stops the command and exits 72 when the lock is force-released, SIGKILLing it after --grace", async () => {
    const dir = tmp();
    const cli = startCli(["run", "taken", "--ttl", "5s", "--grace", "1s", "--", NODE, CHILD, "trap", dir, "ignore"], { env });
    const started = await startedIn(dir, cli);
    expect(await ctx.lockStatus("taken")).toBe("held");

    const forced = await callGateway(ctx.gw.url, "DELETE", "/locks/taken", { jwt: ctx.opsJwt });
    expect(forced.body).toEqual({ released: true });

    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(ExitCode.lockLost);
    expect(result.stderr).toMatch(/lost taken: renewal refused: lock_lost/);
    expect(result.stderr).not.toContain(env.LEASEGATE_TOKEN!.split(".")[2]!);
    expect(result.stderr).not.toMatch(new RegExp(`${LOCK_TOKEN_PREFIX}\\.\\d+\\.`));
    expect(existsSync(join(dir, "SIGTERM"))).toBe(true);
    // The command ignored SIGTERM, so only the SIGKILL after the grace period ended it.
    expect(processAlive(started.pid)).toBe(false);
    const termAt = Number(readFileSync(join(dir, "SIGTERM"), "utf8"));
    expect(Date.now() - termAt).toBeGreaterThanOrEqual(900);
  });

  it("exits 72 when no renewal succeeds before the grant expires (gateway gone)", async () => {
    const doomed = await startNodeGateway({ namespace: ctx.namespace, config: cliGatewayConfig(ctx.issuer) });
    const dir = tmp();
    const cli = startCli(["run", "orphaned", "--ttl", "2s", "--grace", "1s", "--", NODE, CHILD, "trap", dir], {
      env: { ...env, LEASEGATE_URL: doomed.url },
    });
    await startedIn(dir, cli);
    const killedAt = Date.now();
    await doomed.kill();

    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(ExitCode.lockLost);
    expect(result.stderr).toMatch(/lost orphaned: no successful renewal before the grant expired/);
    expect(existsSync(join(dir, "SIGTERM"))).toBe(true);
    // Declared lost within the grant's TTL of the last renewal, not later.
    expect(Date.now() - killedAt).toBeLessThan(12_000);
  });

  it.each([
    ["SIGTERM", 143],
    ["SIGINT", 130],
    ["SIGHUP", 129],
  ] as const)("forwards %s to the command, never exits 0 when cancelled, and releases the lock", async (signal, code) => {
    const lock = `cancel-${signal.toLowerCase()}`;
    const dir = tmp();
    const cli = startCli(["run", lock, "--ttl", "10s", "--holder", "job 17", "--", NODE, CHILD, "trap", dir], { env });
    const started = await startedIn(dir, cli);
    expect(started.env).toMatchObject({ LEASEGATE_LOCK: lock, LEASEGATE_HOLDER: "job 17" });
    expect(started.env.LEASEGATE_FENCING_TOKEN).toMatch(/^\d+$/);
    expect(Date.parse(started.env.LEASEGATE_EXPIRES_AT!)).toBeGreaterThan(Date.now() - 5000);
    expect(started.env.LEASEGATE_LOCK_TOKEN).toBeUndefined();

    process.kill(cli.pid, signal);
    const result = await cli.exited;
    // The command trapped the signal and exited 0; the job was still cancelled.
    expect(existsSync(join(dir, signal))).toBe(true);
    expect(result.code, result.stderr).toBe(code);
    expect(result.stderr).toContain(`released ${lock}`);
    expect(await ctx.lockStatus(lock)).toBe("free");
    const lease = await kubectlJson(["get", "lease", lock, "-n", ctx.namespace, "-o", "json"]);
    expect(lease.spec.holderIdentity).toBeUndefined();
  });

  it("exits with a crashing command's code and releases the lock", async () => {
    const result = await runCli(["run", "crashy", "--ttl", "10s", "--", NODE, CHILD, "exit", "3"], { env });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain("released crashy");
    expect(await ctx.lockStatus("crashy")).toBe("free");
  });

  it("exits 128+N when the command dies of signal N, and releases the lock", async () => {
    const killed = await runCli(["run", "killed", "--ttl", "10s", "--", NODE, CHILD, "signal", "SIGKILL"], { env });
    expect(killed.code, killed.stderr).toBe(128 + 9);
    const usr2 = await runCli(["run", "killed", "--ttl", "10s", "--", NODE, CHILD, "signal", "SIGUSR2"], { env });
    expect(usr2.code, usr2.stderr).toBe(128 + 12);
    expect(await ctx.lockStatus("killed")).toBe("free");
  });

  it("exits 127 for a command that does not exist, and releases the lock", async () => {
    const result = await runCli(["run", "missing-cmd", "--", "/nonexistent/deploy.sh"], { env });
    expect(result.code, result.stderr).toBe(127);
    expect(result.stderr).toContain("cannot run /nonexistent/deploy.sh: ENOENT");
    expect(await ctx.lockStatus("missing-cmd")).toBe("free");
  });

  it("gives up after --wait with exit 71, naming the holder while waiting, without running the command", async () => {
    const blocker = await callGateway(ctx.gw.url, "POST", "/locks/busy/acquire", {
      jwt: await ctx.jwt("blocker"),
      body: { holder: "blocker-7", ttlSeconds: 60 },
    });
    expect(blocker.status).toBe(200);
    const file = join(tmp(), "ran");
    const result = await runCli(["run", "busy", "--wait", "2s", "--", NODE, CHILD, "interval", file, "0"], { env });
    expect(result.code, result.stderr).toBe(ExitCode.notAcquired);
    expect(result.stderr).toMatch(/waiting for busy: 1st in line; held by blocker-7 \(ci-blocker\) until \S+Z \(in (\d+m)?\d+s\); waited \ds of 2s/);
    expect(result.stderr).toMatch(/run busy: not acquired within --wait 2s: 1st in line; held by blocker-7 \(ci-blocker\) until \S+Z/);
    expect(result.ms).toBeGreaterThanOrEqual(1900);
    expect(result.ms).toBeLessThan(15_000);
    expect(existsSync(file)).toBe(false);
    expect(await ctx.lockStatus("busy")).toBe("held");

    const once = await runCli(["run", "busy", "--wait", "0", "--", NODE, CHILD, "interval", file, "0"], { env });
    expect(once.code, once.stderr).toBe(ExitCode.notAcquired);
    expect(once.stderr).toContain("run busy: not acquired (--wait 0): held by blocker-7");
  });
});
