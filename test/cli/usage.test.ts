import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/args.ts";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import { cliEnv, runCli } from "../support/cli-process.ts";

/**
 * Help and usage errors of the real CLI process: all of them are decided before any request, so
 * the gateway URL points nowhere and the JWT is only JWT-shaped.
 */
const GATEWAY = "http://127.0.0.1:1";
const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaS1ydW5uZXIifQ.c2lnbmF0dXJl";

describe("help and usage errors", () => {
  it("prints help for the CLI and every subcommand", async () => {
    const top = await runCli(["--help"], { env: cliEnv() });
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Usage: leasegate <subcommand>");
    for (const name of COMMANDS) expect(top.stdout).toContain(`  ${name} `);
    const asks = [...COMMANDS.map((name) => [name, "--help"]), ["help", "run"], ["acquire", "x", "-h"], ["--url", "http://x", "list", "--help"]];
    for (const args of asks) {
      const res = await runCli(args, { env: cliEnv() });
      expect(res.code, `${args.join(" ")}: ${res.stderr}`).toBe(0);
      expect(res.stdout).toContain(`Usage: leasegate ${args.find((a) => (COMMANDS as readonly string[]).includes(a))}`);
    }
    expect((await runCli([], { env: cliEnv() })).stdout).toContain("Usage: leasegate <subcommand>");
  });

  it.each([
    [["frobnicate"], 'unknown subcommand "frobnicate"'],
    [["acquire"], "acquire: missing <lock>"],
    [["acquire", "Bad_Name"], 'lock name "Bad_Name" may contain only lower-case letters'],
    [["acquire", "x", "--ttl", "1.5s"], "--ttl: must be a whole number of seconds"],
    [["acquire", "x", "--wait", "soon"], '--wait: "soon" is not a duration'],
    [["acquire", "x", "--bogus"], "acquire: Unknown option '--bogus'"],
    [["run", "x"], "run: missing the command to run, after --"],
    [["renew", "x"], "renew: no lock token: pass --lock-token or set LEASEGATE_LOCK_TOKEN"],
    [["release", "x", "--lock-token", "not-a-token"], "release: the lock token is not a leasegate lock token"],
    [["renew", "x", "--lock-token", "lg1.1187.3J0nUutY5Npk.UutY5Npk"], "renew: the lock token is not a leasegate lock token (lg2.…)"],
  ])("refuses bad usage %j with exit 74 before any request", async (args, message) => {
    const result = await runCli(args, { env: cliEnv({ LEASEGATE_URL: "http://127.0.0.1:1", LEASEGATE_TOKEN: JWT }) });
    expect(result.code, result.stderr).toBe(ExitCode.usage);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toMatch(/Run 'leasegate .*--help' for usage\./);
  });

  it("says what to set when the URL or the credentials are missing (74)", async () => {
    const noUrl = await runCli(["status", "x"], { env: cliEnv({ LEASEGATE_TOKEN: JWT }) });
    expect(noUrl.code).toBe(ExitCode.usage);
    expect(noUrl.stderr).toBe("leasegate: no gateway URL: pass --url or set LEASEGATE_URL (e.g. https://leasegate.example.com)\n");

    const noToken = await runCli(["status", "x", "--url", GATEWAY], { env: cliEnv() });
    expect(noToken.code).toBe(ExitCode.usage);
    expect(noToken.stderr).toMatch(/^leasegate: no credentials: pass --token or set LEASEGATE_TOKEN/);

    const inActions = await runCli(["run", "x", "--", "true"], { env: cliEnv({ LEASEGATE_URL: GATEWAY, GITHUB_ACTIONS: "true" }) });
    expect(inActions.code).toBe(ExitCode.usage);
    expect(inActions.stderr).toContain("add `permissions: id-token: write`");

    const garbage = await runCli(["status", "x"], { env: cliEnv({ LEASEGATE_URL: GATEWAY, LEASEGATE_TOKEN: "hunter2" }) });
    expect(garbage.code).toBe(ExitCode.usage);
    expect(garbage.stderr).toContain("LEASEGATE_TOKEN does not look like a JWT");
    expect(garbage.stderr).not.toContain("hunter2");

    const badUrl = await runCli(["status", "x", "--url", "ftp://example.com"], { env: cliEnv({ LEASEGATE_TOKEN: JWT }) });
    expect(badUrl.code).toBe(ExitCode.usage);
    expect(badUrl.stderr).toContain("gateway URL must be http(s)");
  });
});
