import { describe, expect, it } from "vitest";
import { parseInvocation } from "../../src/cli/args.ts";
import { displayJson, displayText } from "../../src/client/display-text.ts";
import { formatDuration, parseDuration, parseTtlSeconds } from "../../src/cli/duration.ts";
import { CliError } from "../../src/cli/errors.ts";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import { assignments, shellWord } from "../../src/cli/output.ts";

describe("durations", () => {
  it.each([
    ["90", 90_000],
    ["90s", 90_000],
    ["15m", 900_000],
    ["1h30m", 5_400_000],
    ["500ms", 500],
    ["1.5s", 1500],
    ["0", 0],
    ["2d", 172_800_000],
  ])("parses %s", (text, ms) => {
    expect(parseDuration(text, "--wait")).toBe(ms);
  });

  it.each(["", "soon", "10 s", "-5s", "5x", "1h-30m"])("refuses %j as a usage error", (text) => {
    const err = (() => {
      try {
        parseDuration(text, "--wait");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(ExitCode.usage);
  });

  it("wants whole seconds for a TTL", () => {
    expect(parseTtlSeconds("2m")).toBe(120);
    expect(() => parseTtlSeconds("1500ms")).toThrow(/whole number of seconds/);
    expect(() => parseTtlSeconds("0")).toThrow(/at least 1s/);
  });

  it("formats short durations for progress lines", () => {
    expect([formatDuration(0), formatDuration(42_400), formatDuration(65_000), formatDuration(7_380_000)]).toEqual(["0s", "42s", "1m05s", "2h03m"]);
  });
});

describe("argument parsing", () => {
  it("splits run's own options from the command after --", () => {
    const inv = parseInvocation(["--url", "http://gw", "run", "deploy", "--ttl", "30s", "--", "./deploy.sh", "--ttl", "--", "x"]);
    expect(inv).toEqual({
      kind: "command",
      command: "run",
      values: { url: "http://gw", ttl: "30s" },
      positionals: ["deploy"],
      commandLine: ["./deploy.sh", "--ttl", "--", "x"],
    });
  });

  it("takes the command without -- when it has no options of its own", () => {
    const inv = parseInvocation(["run", "deploy", "make", "deploy"]);
    expect(inv).toMatchObject({ positionals: ["deploy"], commandLine: ["make", "deploy"] });
  });

  it("answers help and version requests anywhere before --", () => {
    expect(parseInvocation(["acquire", "x", "--help"])).toEqual({ kind: "help", command: "acquire" });
    expect(parseInvocation(["-h"])).toEqual({ kind: "help" });
    expect(parseInvocation(["--version"])).toEqual({ kind: "version" });
    expect(parseInvocation(["run", "x", "--", "cmd", "--help"])).toMatchObject({ kind: "command", commandLine: ["cmd", "--help"] });
  });

  it("refuses options of other subcommands", () => {
    expect(() => parseInvocation(["status", "x", "--ttl", "5s"])).toThrow(/Unknown option '--ttl'/);
    expect(() => parseInvocation(["acquire", "x", "--", "cmd"])).toThrow(/only meaningful for run/);
  });
});

describe("shell assignments", () => {
  it("quotes only what needs quoting", () => {
    expect(shellWord("lg2.12.abc-_x.aWQ.y")).toBe("lg2.12.abc-_x.aWQ.y");
    expect(shellWord("2026-11-24T16:03:11.041Z")).toBe("2026-11-24T16:03:11.041Z");
    expect(shellWord("it's a $test")).toBe(`'it'\\''s a $test'`);
    expect(shellWord("")).toBe("''");
    expect(assignments([["A", "x y"], ["B", undefined], ["C", 3]])).toBe("A='x y'\nC=3\n");
  });
});

describe("text from the gateway, for display", () => {
  it.each([
    ["a\nb\r\tc", "a\\x0ab\\x0d\\x09c"],
    ["\x1b[2J\x07\x00\x7f", "\\x1b[2J\\x07\\x00\\x7f"],
    ["c1 \u0085 \u009b", "c1 \\x85 \\x9b"],
    ["bidi \u202egnp.exe \u2066\u061c\u200e", "bidi \\u{202e}gnp.exe \\u{2066}\\u{61c}\\u{200e}"],
    ["line\u2028paragraph\u2029", "line\\u{2028}paragraph\\u{2029}"],
    ["::error::x", "\\x3a:error::x"],
    ["\u00a0 ::add-mask::x", "\u00a0 \\x3a:add-mask::x"],
    ["a ##[error]b ##VSO[task.x]c #[d] ## e", "a \\x23#[error]b \\x23#VSO[task.x]c #[d] ## e"],
    ["Zoë Ørsted 日本 שלום 🚀👩‍💻 a::b C:\\x", "Zoë Ørsted 日本 שלום 🚀👩‍💻 a::b C:\\x"],
  ])("shows %j as %j", (text, shown) => {
    expect(displayText(text)).toBe(shown);
    expect(displayText(shown)).toBe(shown);
  });

  it("prints JSON that parses to the same values, without raw control, bidi or command-marker characters", () => {
    const value = { holder: "x\n::stop-commands::zz\u0085\u202e", "##[group]": ["::endgroup::", "\u2028"], n: 1 };
    const text = displayJson(value);
    expect(JSON.parse(text)).toEqual(value);
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e\u2028]|##\[/);
    expect(text.split("\n").every((line) => !line.trimStart().startsWith("::"))).toBe(true);
  });
});

describe("the exit-code table in docs/cli.md", () => {
  it("lists exactly the reserved codes of src/cli/exit-codes.ts", async () => {
    const { readFileSync } = await import("node:fs");
    const docs = readFileSync(new URL("../../docs/cli.md", import.meta.url), "utf8");
    const documented = [...docs.matchAll(/^\| \*\*(\d+)\*\* \|/gm)].map((m) => Number(m[1]));
    const reserved = Object.values(ExitCode).filter((code) => code !== 0);
    expect(documented.sort()).toEqual([...reserved].sort());
  });
});
