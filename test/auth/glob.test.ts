import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Glob } from "../../src/auth/glob.ts";

/** The textbook definition, memoised: `*` any run (including none), `?` one code point, else itself. */
function referenceMatch(pattern: string, text: string): boolean {
  const p = Array.from(pattern);
  const t = Array.from(text);
  const memo = new Map<number, boolean>();
  const matchFrom = (i: number, j: number): boolean => {
    const key = i * (t.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === p.length) result = j === t.length;
    else if (p[i] === "*") result = matchFrom(i + 1, j) || (j < t.length && matchFrom(i, j + 1));
    else result = j < t.length && (p[i] === "?" || p[i] === t[j]) && matchFrom(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return matchFrom(0, 0);
}

const matches = (pattern: string, text: string) => new Glob(pattern).matches(text);

describe("glob patterns", () => {
  it.each([
    ["deploy-prod", "deploy-prod", true],
    ["deploy-prod", "deploy-prod2", false],
    ["deploy-prod", "deploy-pro", false],
    ["*", "", true],
    ["*", "anything.at-all", true],
    ["team-a-*", "team-a-", true],
    ["team-a-*", "team-a-x", true],
    ["team-a-*", "team-b-x", false],
    ["*-prod", "deploy-prod", true],
    ["*-prod", "deploy-prod-2", false],
    ["a*b*c", "abc", true],
    ["a*b*c", "aXbYbZc", true],
    ["a*b*c", "acb", false],
    ["a**b", "ab", true],
    ["?", "", false],
    ["?", "x", true],
    ["?", "xy", false],
    ["v?-*", "v1-x", true],
    ["v?-*", "v-x", false],
    ["*?", "", false],
    ["ab*ba", "aba", false],
    ["*aab", "aaab", true],
  ] as const)("%s against %s: %s", (pattern, text, expected) => {
    expect(matches(pattern, text)).toBe(expected);
  });

  it("treat every other character literally, including those special in regular expressions", () => {
    expect(matches("a.b", "a.b")).toBe(true);
    expect(matches("a.b", "axb")).toBe(false);
    expect(matches("(x|y)+[z]^$\\", "(x|y)+[z]^$\\")).toBe(true);
    expect(matches("(x|y)+", "x")).toBe(false);
    expect(matches("repo:org/*", "repo:org/app:environment:production")).toBe(true);
  });

  it("let '?' stand for one code point, even outside the Basic Multilingual Plane", () => {
    expect(matches("?", "😀")).toBe(true);
    expect(matches("??", "😀")).toBe(false);
    expect(matches("a?c", "a😀c")).toBe(true);
    expect(matches("*😀", "x😀")).toBe(true);
  });

  it("agree with the textbook definition on random short patterns and texts", () => {
    // A small alphabet makes wildcards and repeats collide often, where matchers go wrong.
    const alphabet = ["a", "b", "-", "😀"];
    const text = fc.array(fc.constantFrom(...alphabet), { maxLength: 12 }).map((chars) => chars.join(""));
    const pattern = fc.array(fc.constantFrom(...alphabet, "*", "?"), { maxLength: 10 }).map((chars) => chars.join(""));
    fc.assert(
      fc.property(pattern, text, (p, t) => matches(p, t) === referenceMatch(p, t)),
      { numRuns: 5000 },
    );
  });

  it("agree with the textbook definition on long segments (beyond one machine word) and texts built to match", () => {
    const segment = fc.array(fc.constantFrom("a", "b", "?"), { maxLength: 80, size: "max" }).map((chars) => chars.join(""));
    const pattern = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => segments.join("*"));
    // A text made from the pattern (each '?' and '*' filled in) matches it; one changed character may not.
    const filled = (p: string, fills: string[]) => {
      let star = 0;
      return Array.from(p, (c) => (c === "?" ? "b" : c === "*" ? fills[star++ % fills.length]! : c)).join("");
    };
    const fills = fc.array(fc.constantFrom("", "a", "ab", "ba", "aab"), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(pattern, fills, fc.nat(), fc.constantFrom("a", "b"), (p, fill, at, replacement) => {
        const text = filled(p, fill);
        const changed = text.length === 0 ? replacement : text.slice(0, at % text.length) + replacement + text.slice((at % text.length) + 1);
        return matches(p, text) && matches(p, changed) === referenceMatch(p, changed);
      }),
      { numRuns: 2000 },
    );
  });

  it("cost time linear in the text, even for patterns a regular expression backtracks on", () => {
    // Lock names of at most 253 characters, like those GET /locks matches against every rule.
    const alternating = `${"a-".repeat(126)}a`;
    const dashes = `a${"-".repeat(251)}a`;
    const letters = "a".repeat(253);
    const cases: Array<[string, string]> = [
      // Ordered by what a backtracking regular expression costs on them: from a tenth of a second
      // to a few seconds per check for the first two, beyond any patience for the others.
      ["*-*-*-*-prod", alternating],
      ["*-*-*-*-prod", dashes],
      ["*-*-*-*-*-*-*-*-prod", alternating],
      ["*-*-*-*-*-*-*-*-prod", dashes],
      ["*a*a*a*a*a*b", letters],
      ["*a*a*a*a*a*a*a*a*a*a*b", letters],
      // The ends match, so only the segments in between can fail, after a scan of the whole name.
      ["*-*-*-*-*-*x*-a", alternating],
      ["a*a*a*a*a*b*a", letters],
      ["*?-?*?-?*?-?*?-?*?-?*x", alternating],
      [`*${"a".repeat(40)}?b*`, letters],
    ];
    const globs = cases.map(([pattern, name]) => [new Glob(pattern), name] as const);
    const rounds = 1000;
    // 10,000 checks; a regular expression spends over 100 s on the first case's 1,000 alone.
    const boundMs = 1000;
    const started = performance.now();
    let checks = 0;
    let matched = 0;
    rounds: for (let round = 0; round < rounds; round++) {
      for (const [glob, name] of globs) {
        if (glob.matches(name)) matched++;
        checks++;
        // Stop as soon as the bound is broken rather than after a slow matcher's full batch.
        if (performance.now() - started > boundMs) break rounds;
      }
    }
    const elapsedMs = performance.now() - started;
    expect(elapsedMs).toBeLessThan(boundMs);
    expect(checks).toBe(rounds * cases.length);
    expect(matched).toBe(0);
  });
});
