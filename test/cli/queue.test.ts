import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import { type CliProcess, cliEnv, eventually, NODE, runCli, startCli } from "../support/cli-process.ts";
import { type CliGateway, startCliGateway } from "../support/cli-gateway.ts";
import { callGateway } from "../support/http.ts";

/**
 * Waiting in line with the real CLI, a real gateway and the real kube-apiserver: `run` and
 * `acquire --wait` keep their place from one request to the next, show it, give it up when they
 * stop waiting, and start as soon as the lock is handed to them.
 */
const scratch = mkdtempSync(join(tmpdir(), "leasegate-cli-queue-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CHILD = new URL("./fixtures/child.ts", import.meta.url).pathname;
const tmp = () => mkdtempSync(join(scratch, "t-"));
let ctx: CliGateway;
let env: Record<string, string>;

beforeAll(async () => {
  ctx = await startCliGateway("cli-queue");
  env = cliEnv({ LEASEGATE_URL: ctx.gw.url, LEASEGATE_TOKEN: await ctx.jwt() });
});
afterAll(() => ctx?.close());

/** Takes `lock` for `ci-blocker` with a long ttl, so that only a release ends the hold. */
async function block(lock: string, holder = "deploy #123"): Promise<{ release(): Promise<void> }> {
  const jwt = await ctx.jwt("blocker");
  const held = await callGateway(ctx.gw.url, "POST", `/locks/${lock}/acquire`, { jwt, body: { holder, ttlSeconds: 120 } });
  expect(held.status, JSON.stringify(held.body)).toBe(200);
  return {
    async release() {
      const released = await callGateway(ctx.gw.url, "POST", `/locks/${lock}/release`, { jwt, body: { token: held.body.token } });
      expect(released.body).toEqual({ released: true });
    },
  };
}

/** How many wait in the lock's line, as anyone reading the lock sees it. */
async function waiters(lock: string): Promise<number> {
  const state = await callGateway(ctx.gw.url, "GET", `/locks/${lock}`, { jwt: ctx.opsJwt });
  expect(state.status, JSON.stringify(state.body)).toBe(200);
  return state.body.waiters as number;
}

/** The time (ms since the epoch) the command wrote DIR/started; fails with the CLI's stderr if the CLI ends first. */
async function startedAt(dir: string, cli: CliProcess): Promise<number> {
  const file = join(dir, "started");
  let exited = false;
  void cli.exited.then(() => (exited = true));
  await eventually(() => existsSync(file) || exited, "the command to start", 30_000, 10);
  if (!existsSync(file)) throw new Error(`the CLI exited before its command started:\n${cli.stderr()}`);
  return Date.now();
}

/** The fencing token the CLI reported for its grant. */
function fencingTokenIn(stderr: string): string {
  const match = /acquired \S+ as .* \(fencing token (\d+),/.exec(stderr);
  if (!match) throw new Error(`no grant in:\n${stderr}`);
  return match[1]!;
}

describe("waiting in line", () => {
  it("grants two runs queued behind a holder in the order they arrived, each showing its place", async () => {
    const lock = "fifo";
    const blocker = await block(lock);
    const file = join(tmp(), "intervals");
    const run = (holder: string) => startCli(["run", lock, "--wait", "2m", "--holder", holder, "--", NODE, CHILD, "interval", file, "300"], { env });

    const first = run("first");
    await first.waitForStderr(/waiting for fifo: 1st in line; held by deploy #123 \(ci-blocker\) until \S+Z \(in (\d+m)?\d+s\); waited \ds of 2m00s/);
    const second = run("second");
    await second.waitForStderr(/waiting for fifo: 2nd in line; held by deploy #123 \(ci-blocker\) until \S+Z \(in (\d+m)?\d+s\); waited \ds of 2m00s/);
    expect(await waiters(lock)).toBe(2);

    await blocker.release();
    const [a, b] = await Promise.all([first.exited, second.exited]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);

    // The commands ran one after the other, the first arrival first, each under its own grant.
    const lines = readFileSync(file, "utf8").trim().split("\n").map((line) => line.split(" "));
    expect(lines.map((line) => line[0])).toEqual(["start", "end", "start", "end"]);
    expect([lines[0]![2], lines[2]![2]]).toEqual([fencingTokenIn(a.stderr), fencingTokenIn(b.stderr)]);
    expect(BigInt(lines[2]![2]!)).toBeGreaterThan(BigInt(lines[0]![2]!));
    // The second was woken by the first's release, not by a poll.
    const handOverMs = Number(lines[2]![1]) - Number(lines[1]![1]);
    console.info(`the second in line started ${handOverMs} ms after the first's command ended (its release included)`);
    expect(handOverMs).toBeLessThan(3000);
    expect(await waiters(lock)).toBe(0);
    expect(await ctx.lockStatus(lock)).toBe("free");
  });

  it("starts the command within about a second of the holder's release", async () => {
    const lock = "handed-over";
    const blocker = await block(lock);
    const dir = tmp();
    const cli = startCli(["run", lock, "--wait", "5m", "--", NODE, CHILD, "trap", dir], { env });
    await cli.waitForStderr(/waiting for handed-over: 1st in line; held by deploy #123/);
    // Into a waiting request that has been open a while, not the first short one.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const releasedAt = Date.now();
    await blocker.release();
    const startedAfterMs = (await startedAt(dir, cli)) - releasedAt;
    console.info(`run started ${startedAfterMs} ms after the release (the target is within a second; bench/ measures it)`);
    // Far below the blocker's 120 s ttl and below any poll interval: the release itself woke the waiting request.
    expect(startedAfterMs).toBeLessThan(3000);
    process.kill(cli.pid, "SIGTERM");
    expect((await cli.exited).code).toBe(143);
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("leaves the line on %s while waiting, exiting %i without running the command", async (signal, code) => {
    const lock = `leave-on-${signal.toLowerCase()}`;
    const blocker = await block(lock);
    const file = join(tmp(), "ran");
    const cli = startCli(["run", lock, "--wait", "5m", "--", NODE, CHILD, "interval", file, "0"], { env });
    await cli.waitForStderr(/1st in line; held by deploy #123/);
    // Someone behind it, who moves up the moment it leaves.
    const behind = startCli(["acquire", lock, "--wait", "1m", "--holder", "behind"], { env: cliEnv({ LEASEGATE_URL: ctx.gw.url, LEASEGATE_TOKEN: await ctx.jwt("behind") }) });
    await behind.waitForStderr(/2nd in line/);
    expect(await waiters(lock)).toBe(2);

    process.kill(cli.pid, signal);
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(code);
    expect(result.stderr).toContain(`interrupted by ${signal} while waiting for ${lock}`);
    expect(result.stderr).not.toContain("could not leave");
    expect(existsSync(file)).toBe(false);
    // Gone from the line at once, not when its place would have lapsed.
    expect(await waiters(lock)).toBe(1);

    await blocker.release();
    const granted = await behind.exited;
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stdout).toContain("LEASEGATE_HOLDER=behind\n");
    expect(await waiters(lock)).toBe(0);
  });

  it("leaves the line when --wait runs out, and says where it stood (71)", async () => {
    const lock = "wait-runs-out";
    await block(lock, "release 1.4");
    const result = await runCli(["acquire", lock, "--wait", "2s"], { env });
    expect(result.code, result.stderr).toBe(ExitCode.notAcquired);
    expect(result.stderr).toMatch(/waiting for wait-runs-out: 1st in line; held by release 1\.4 \(ci-blocker\) until \S+Z \(in (\d+m)?\d+s\); waited \ds of 2s\n/);
    expect(result.stderr).toMatch(/acquire wait-runs-out: not acquired within --wait 2s: 1st in line; held by release 1\.4 \(ci-blocker\) until \S+Z\n$/);
    expect(result.ms).toBeGreaterThanOrEqual(1900);
    expect(result.ms).toBeLessThan(10_000);
    expect(await waiters(lock)).toBe(0);
  });

  it("tries once with --wait 0 and takes no place; a free lock others wait for is not free to it", async () => {
    const lock = "line-keeps-it";
    const blocker = await block(lock);
    const waiting = startCli(["acquire", lock, "--wait", "1m", "--holder", "patient"], { env });
    await waiting.waitForStderr(/1st in line/);

    const held = await runCli(["acquire", lock], { env });
    expect(held.code, held.stderr).toBe(ExitCode.notAcquired);
    expect(held.stderr).toMatch(/acquire line-keeps-it: not acquired \(--wait 0\): held by deploy #123 \(ci-blocker\) until \S+Z\n$/);
    expect(await waiters(lock)).toBe(1);

    // The release hands the lock to the one in line; a try in between finds it taken or promised.
    await blocker.release();
    const tried = await runCli(["acquire", lock], { env });
    expect(tried.code, tried.stderr).toBe(ExitCode.notAcquired);
    expect(tried.stderr).toMatch(/not acquired \(--wait 0\): (held by patient \(ci-runner\) until \S+Z|free, 1 waiting in line)\n$/);
    const granted = await waiting.exited;
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stdout).toContain("LEASEGATE_HOLDER=patient\n");
  });

  it("status shows the line, first in line first", async () => {
    const lock = "visible-line";
    const blocker = await block(lock);
    const jwt = await ctx.jwt("shown");
    const waiting = startCli(["acquire", lock, "--wait", "1m", "--holder", "pipeline 7"], { env: cliEnv({ LEASEGATE_URL: ctx.gw.url, LEASEGATE_TOKEN: jwt }) });
    await waiting.waitForStderr(/1st in line/);
    const status = await runCli(["status", lock], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^waiters: +1$/m);
    expect(status.stdout).toMatch(/^in line 1: +pipeline 7 \(ci-shown\) since \S+Z$/m);
    process.kill(waiting.pid, "SIGINT");
    expect((await waiting.exited).code).toBe(130);
    expect(await waiters(lock)).toBe(0);
    await blocker.release();
  });

  it("keeps a grant that came after waiting longer than its ttl: it is counted from the answer, not from the request", async () => {
    const lock = "short-ttl";
    const blocker = await block(lock);
    const cli = startCli(["run", lock, "--ttl", "3s", "--wait", "1m", "--", NODE, "-e", "setTimeout(() => {}, 2000)"], { env });
    await cli.waitForStderr(/1st in line/);
    // The holder releases 5 s into the wait: longer than the 3 s ttl, within one waiting request.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await blocker.release();
    const { code, stderr } = await cli.exited;
    expect(code, stderr).toBe(ExitCode.ok);
    expect(stderr).not.toMatch(/lost/);
  });
});
