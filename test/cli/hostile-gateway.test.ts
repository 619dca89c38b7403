import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import { cliEnv, NODE, runCli } from "../support/cli-process.ts";
import { type Answer, type FakeGateway, lockTokenShaped, type SeenRequest, startFakeGateway } from "./fixtures/fake-gateway.ts";

/**
 * Whatever the gateway sends (holder labels and metadata other callers chose, problem details,
 * lock names) reaches terminals and CI logs only escaped. The gateway refuses such labels now,
 * so a fake gateway stands in for one that still has them stored, or for a hostile one.
 */
const scratch = mkdtempSync(join(tmpdir(), "leasegate-cli-hostile-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CHILD = new URL("./fixtures/child.ts", import.meta.url).pathname;
const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaS1ydW5uZXIifQ.c2lnbmF0dXJl";
const TOKEN = lockTokenShaped();

/** A holder label as stored before the gateway refused such labels: it tries every trick. */
const HOLDER = "x\n::stop-commands::zz\n::add-mask::decoy\x1b[2J\x07\u202egnp.exe\u0085 ##[set-output name=a]b ##vso[task.setvariable variable=v]y\r::error::fake";
const SUBJECT = "svc\x1b]0;retitled\x07\u2028::warning::s";

/** Characters that must never reach the output raw (line feeds between lines excepted). */
const UNSHOWABLE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;

/**
 * The commands the GitHub Actions runner would act on in `output`: lines are split at CR and LF;
 * `::name::data` counts at the start of a line after blanks, legacy `##[name]data` (and Azure
 * Pipelines' `##vso[…]`) anywhere in it.
 */
function workflowCommands(output: string): string[] {
  const found: string[] = [];
  for (const line of output.split(/\r\n|\r|\n/)) {
    const trimmed = line.trimStart();
    if (trimmed.startsWith("::") && trimmed.indexOf("::", 2) > 2) found.push(trimmed);
    const legacy = line.indexOf("##[");
    if (legacy >= 0 && line.indexOf("]", legacy) > legacy) found.push(line.slice(legacy));
    if (/##vso\[/i.test(line)) found.push(line);
  }
  return found;
}

function expectInert(output: string, allowedCommands: string[] = []) {
  expect(output).not.toMatch(UNSHOWABLE);
  expect(workflowCommands(output)).toEqual(allowedCommands);
}

const inFuture = (ms: number) => new Date(Date.now() + ms).toISOString();

function grantFor(name: string, holder = HOLDER) {
  const now = new Date().toISOString();
  return { name, namespace: "ns", lease: name, holder, subject: SUBJECT, token: TOKEN, fencingToken: "41", acquiredAt: now, renewedAt: now, expiresAt: inFuture(30_000), ttlSeconds: 30, transitions: 0, metadata: {} };
}

function problem(status: number, code: string, extra: Record<string, unknown> = {}): Answer {
  return { status, body: { type: `urn:leasegate:problem:${code}`, code, title: code, status, ...extra } };
}

const heldBy = (holder: string): Answer => ({
  ...problem(409, "lock_held", { detail: "the lock is held by another caller", holder, subject: SUBJECT, expiresAt: inFuture(1000) }),
  headers: { "retry-after": "0" },
});

/** A refusal after a wait: held by `holder`, the caller at `position` with a ticket that keeps it. */
const inLine = (holder: string, standing: { position: number; waiters: number; ticket: string }): Answer => ({
  ...problem(409, "lock_held", { detail: "the lock is held by another caller", holder, subject: SUBJECT, expiresAt: inFuture(60_000), ...standing }),
  headers: { "retry-after": "0" },
});

/** A queue ticket of the shape the gateway issues. */
const ticketShaped = (fill: number) => `lgq1.${Buffer.alloc(32, fill).toString("base64url")}`;

/** Held on the first attempt, then granted; renew and release succeed. */
function heldThenGranted(lock: string): (request: SeenRequest) => Answer {
  let attempts = 0;
  return (request) => {
    if (request.path === `/locks/${lock}/acquire`) return attempts++ === 0 ? heldBy(HOLDER) : { status: 200, body: grantFor(lock) };
    if (request.path === `/locks/${lock}/renew`) return { status: 200, body: grantFor(lock) };
    if (request.path === `/locks/${lock}/release`) return { status: 200, body: { released: true } };
    return problem(404, "not_found");
  };
}

let gateway: FakeGateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

const env = (extra: Record<string, string> = {}) => cliEnv({ LEASEGATE_URL: gateway!.url, LEASEGATE_TOKEN: JWT, ...extra });
const actionsEnv = (extra: Record<string, string> = {}) =>
  env({ GITHUB_ACTIONS: "true", GITHUB_OUTPUT: join(mkdtempSync(join(scratch, "t-")), "output"), GITHUB_REPOSITORY: "org/app", ...extra });

describe("text from the gateway in the CLI's output", () => {
  it("acquire in GitHub Actions: the wait progress shows a stored multi-line holder escaped, and only the mask is a workflow command", async () => {
    gateway = await startFakeGateway(heldThenGranted("deploy"));
    const result = await runCli(["acquire", "deploy", "--wait", "30s"], { env: actionsEnv() });
    expect(result.code, result.stderr).toBe(0);

    expectInert(result.stderr, [`::add-mask::${TOKEN}`]);
    expectInert(result.stdout);
    expect(result.stderr).toContain(
      "waiting for deploy: held by x\\x0a::stop-commands::zz\\x0a::add-mask::decoy\\x1b[2J\\x07\\u{202e}gnp.exe\\x85 \\x23#[set-output name=a]b \\x23#vso[task.setvariable variable=v]y\\x0d::error::fake (svc\\x1b]0;retitled\\x07\\u{2028}::warning::s)",
    );
    // Nothing the gateway sent comes after the grant but before the mask.
    expect(result.stderr.trimEnd().split("\n").at(-1)).toBe(`::add-mask::${TOKEN}`);
    expect(result.stdout).toContain(`LEASEGATE_LOCK_TOKEN=${TOKEN}\n`);
    expect(result.stdout).toContain("LEASEGATE_HOLDER='x\\x0a::stop-commands::zz\\x0a");
  });

  it("run in GitHub Actions: masks the lock token before the first line that quotes the grant, and escapes that line", async () => {
    gateway = await startFakeGateway(heldThenGranted("deploy"));
    const result = await runCli(["run", "deploy", "--ttl", "30s", "--wait", "30s", "--", NODE, CHILD, "exit", "0"], { env: actionsEnv() });
    expect(result.code, result.stderr).toBe(0);

    expectInert(result.stderr + result.stdout, [`::add-mask::${TOKEN}`]);
    const lines = result.stderr.trimEnd().split("\n");
    const mask = lines.indexOf(`::add-mask::${TOKEN}`);
    const acquired = lines.findIndex((line) => line.startsWith("leasegate: acquired deploy as "));
    expect(mask).toBeGreaterThan(lines.findIndex((line) => line.includes("waiting for deploy: held by x\\x0a::stop-commands")));
    expect(acquired).toBe(mask + 1);
    expect(lines[acquired]).toContain("as x\\x0a::stop-commands::zz\\x0a::add-mask::decoy\\x1b[2J");
  });

  it("waiting in line: the place comes before a stored holder, escaped; every request keeps the key and sends the last ticket", async () => {
    const tickets = [ticketShaped(1), ticketShaped(2)];
    let attempts = 0;
    gateway = await startFakeGateway((request) => {
      if (request.path !== "/locks/deploy/acquire") return problem(404, "not_found");
      const n = attempts++;
      return n < 2 ? inLine(HOLDER, { position: 2 - n, waiters: 3, ticket: tickets[n]! }) : { status: 200, body: grantFor("deploy") };
    });
    const result = await runCli(["acquire", "deploy", "--wait", "30s"], { env: actionsEnv() });
    expect(result.code, result.stderr).toBe(0);

    expectInert(result.stderr, [`::add-mask::${TOKEN}`]);
    expect(result.stderr).toContain(
      "waiting for deploy: 2nd in line; held by x\\x0a::stop-commands::zz\\x0a::add-mask::decoy\\x1b[2J\\x07\\u{202e}gnp.exe\\x85 \\x23#[set-output name=a]b \\x23#vso[task.setvariable variable=v]y\\x0d::error::fake (svc\\x1b]0;retitled\\x07\\u{2028}::warning::s)",
    );
    const acquires = gateway.requests.filter((r) => r.path === "/locks/deploy/acquire");
    expect(acquires.map((r) => JSON.parse(r.body).ticket)).toEqual([undefined, tickets[0], tickets[1]]);
    expect(acquires.every((r) => JSON.parse(r.body).waitSeconds >= 1)).toBe(true);
    expect(new Set(acquires.map((r) => r.headers["idempotency-key"])).size).toBe(1);
    // The tickets are secrets between the CLI and the gateway.
    for (const ticket of tickets) expect(result.stderr + result.stdout).not.toContain(ticket);
  });

  it("gives up its place when --wait runs out, by the last ticket and the key; a ticket of another shape is never sent back", async () => {
    for (const [ticket, sent] of [
      [ticketShaped(3), ticketShaped(3)],
      ["lgq1.<script>\n::error::t", undefined],
    ] as const) {
      gateway = await startFakeGateway((request) =>
        request.path === "/locks/busy/leave" ? { status: 200, body: { left: true } } : inLine(HOLDER, { position: 1, waiters: 1, ticket }),
      );
      const result = await runCli(["acquire", "busy", "--wait", "2s"], { env: actionsEnv() });
      expect(result.code, result.stderr).toBe(ExitCode.notAcquired);
      expectInert(result.stderr);
      expect(result.stderr).toContain("acquire busy: not acquired within --wait 2s: 1st in line; held by x\\x0a::stop-commands::zz");
      const acquires = gateway.requests.filter((r) => r.path === "/locks/busy/acquire");
      const leaves = gateway.requests.filter((r) => r.path === "/locks/busy/leave");
      expect(acquires.slice(1).map((r) => JSON.parse(r.body).ticket)).toEqual(acquires.slice(1).map(() => sent));
      expect(leaves).toHaveLength(1);
      expect(JSON.parse(leaves[0]!.body)).toEqual(sent === undefined ? {} : { ticket: sent });
      expect(leaves[0]!.headers["idempotency-key"]).toBe(acquires[0]!.headers["idempotency-key"]);
      expect(gateway.requests.at(-1)).toBe(leaves[0]);
      await gateway.close();
      gateway = undefined;
    }
  });

  it("status prints one line per field, every value escaped, and --json the same values with JSON escapes", async () => {
    const state = {
      name: "deploy",
      namespace: "ns",
      status: "held",
      holder: HOLDER,
      subject: SUBJECT,
      fencingToken: "41",
      acquiredAt: "2026-01-01T00:00:00.000Z",
      renewedAt: "not a date\n::error::r",
      expiresAt: inFuture(60_000),
      ttlSeconds: 30,
      transitions: 2,
      metadata: { "k\nkey": "v\u202eal\u0085ue", "##[group]": "::endgroup::" },
      forcedRelease: { by: "ops\n::notice::by", at: "2026-01-01T00:00:00.000Z" },
    };
    gateway = await startFakeGateway(() => ({ status: 200, body: state }));

    const text = await runCli(["status", "deploy"], { env: actionsEnv() });
    expect(text.code, text.stderr).toBe(0);
    expectInert(text.stdout);
    const labels = text.stdout.trimEnd().split("\n").map((line) => line.slice(0, line.indexOf(":")));
    expect(labels).toEqual(["lock", "status", "holder", "subject", "fencing token", "expires", "acquired", "renewed", "ttl", "transitions", "force-released", "metadata k\\x0akey", "metadata \\x23#[group]"]);
    expect(text.stdout).toMatch(/^renewed: +not a date\\x0a::error::r$/m);
    expect(text.stdout).toMatch(/^metadata k\\x0akey: +v\\u\{202e\}al\\x85ue$/m);
    expect(text.stdout).toMatch(/^metadata \\x23#\[group\]: +\\x3a:endgroup::$/m);

    const json = await runCli(["status", "deploy", "--json"], { env: actionsEnv() });
    expect(json.code, json.stderr).toBe(0);
    expectInert(json.stdout);
    expect(JSON.parse(json.stdout)).toEqual(state);
  });

  it("list prints one row per lock, escaping lock names, labels and subjects", async () => {
    const item = (name: string, holder: string) => ({ name, namespace: "ns", status: "held", holder, subject: SUBJECT, expiresAt: inFuture(60_000), ttlSeconds: 30, transitions: 0, metadata: {} });
    const items = [item("::add-mask::all", "a"), item("b", HOLDER), item("c\u202e", "##[error]c")];
    gateway = await startFakeGateway(() => ({ status: 200, body: { items } }));

    const text = await runCli(["list"], { env: actionsEnv() });
    expect(text.code, text.stderr).toBe(0);
    expectInert(text.stdout);
    const rows = text.stdout.trimEnd().split("\n");
    expect(rows).toHaveLength(1 + items.length);
    expect(rows.slice(1).map((row) => row.split(/\s{2,}/)[0])).toEqual(["\\x3a:add-mask::all", "b", "c\\u{202e}"]);

    const json = await runCli(["list", "--json"], { env: actionsEnv() });
    expectInert(json.stdout);
    expect(JSON.parse(json.stdout).items.map((i: { name: string }) => i.name)).toEqual(items.map((i) => i.name));
  });

  it("reports a problem's detail, errors and a refusal's holder on one escaped line", async () => {
    gateway = await startFakeGateway((request) =>
      request.path.startsWith("/locks/bad/")
        ? problem(400, "invalid_request", { detail: "bad\n::error::detail", errors: [{ path: "json.holder\n::warning::p", message: "m\x1b[31m" }] })
        : heldBy(HOLDER),
    );
    const invalid = await runCli(["acquire", "bad"], { env: actionsEnv() });
    expect(invalid.code, invalid.stderr).toBe(ExitCode.usage);
    expectInert(invalid.stderr);
    expect(invalid.stderr).toBe(
      "leasegate: acquire bad: invalid_request: bad\\x0a::error::detail (HTTP 400): json.holder\\x0a::warning::p m\\x1b[31m\n",
    );

    const held = await runCli(["acquire", "busy"], { env: actionsEnv() });
    expect(held.code, held.stderr).toBe(ExitCode.notAcquired);
    expectInert(held.stderr);
    expect(held.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(held.stderr).toContain("not acquired (--wait 0): held by x\\x0a::stop-commands::zz");
  });

  it("never sends a holder label the gateway would refuse: control and bidi characters become spaces", async () => {
    gateway = await startFakeGateway((request) => ({ status: 200, body: grantFor("label", JSON.parse(request.body).holder) }));
    const result = await runCli(["acquire", "label", "--holder", "a\tb\x1b[31mc\u202ed\r\n"], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(gateway.requests[0]!.body).holder).toBe("a b [31mc d");
  });

  it("escapes the lock token's mask command as workflow command data, so it stays one command", async () => {
    const odd = `${TOKEN}\n::set-output name=x::%y`;
    gateway = await startFakeGateway(() => ({ status: 200, body: { ...grantFor("odd"), token: odd } }));
    const result = await runCli(["acquire", "odd"], { env: actionsEnv() });
    expect(result.code, result.stderr).toBe(0);
    expect(workflowCommands(result.stderr)).toEqual([`::add-mask::${TOKEN}%0A::set-output name=x::%25y`]);
  });
});
