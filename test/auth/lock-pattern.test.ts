import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LockPattern, lockPatternProblem } from "../../src/auth/lock-pattern.ts";
import { policyRuleSchema } from "../../src/config/schema.ts";

const matches = (pattern: string, claims: Record<string, unknown>, lockName: string) => new LockPattern(pattern).matches(claims, lockName);

describe("lock patterns without placeholders", () => {
  it("are plain globs", () => {
    expect(matches("team-a-*", {}, "team-a-deploy")).toBe(true);
    expect(matches("team-a-*", {}, "team-b-deploy")).toBe(false);
    expect(matches("deploy-prod", {}, "deploy-prod")).toBe(true);
    expect(matches("*", {}, "anything")).toBe(true);
  });
});

describe("${claim} placeholders", () => {
  it("insert the caller's claim value", () => {
    expect(matches("home-${uid}-*", { uid: "carol" }, "home-carol-1")).toBe(true);
    expect(matches("home-${uid}-*", { uid: "carol" }, "home-dave-1")).toBe(false);
    expect(matches("repo-${repository_id}-*", { repository_id: "42" }, "repo-42-deploy")).toBe(true);
    expect(matches("repo-${repository_id}-*", { repository_id: "42" }, "repo-43-deploy")).toBe(false);
    expect(matches("home-${uid}", { uid: "carol" }, "home-carol")).toBe(true);
    expect(matches("home-${uid}", { uid: "carol" }, "home-carol-1")).toBe(false);
  });

  it("keep working for a subject with '-' before '.', and for numeric IDs, also as JSON numbers", () => {
    expect(matches("${sub}.*", { sub: "svc-a" }, "svc-a.jobs")).toBe(true);
    expect(matches("${sub}.*", { sub: "svc-a" }, "svc-b.jobs")).toBe(false);
    expect(matches("ci-${repository_id}-*", { repository_id: "123456789" }, "ci-123456789-deploy")).toBe(true);
    expect(matches("ci-${repository_id}-*", { repository_id: 123456789 }, "ci-123456789-deploy")).toBe(true);
    expect(matches("ci-${repository_id}-*", { repository_id: 123456789 }, "ci-12345678-deploy")).toBe(false);
  });

  it("do not let one uid reach into another's locks: a value holding its delimiter is refused", () => {
    // Were `carol-x` accepted, `home-carol-x-1` would belong to both carol and carol-x.
    expect(matches("home-${uid}-*", { uid: "carol-x" }, "home-carol-x-1")).toBe(false);
    expect(matches("${repository_owner}-*", { repository_owner: "acme-corp" }, "acme-corp-deploy")).toBe(false);
    expect(matches("${sub}.*", { sub: "svc.a" }, "svc.a.jobs")).toBe(false);
    // At the end of the pattern the value is the rest of the name: any lock-name characters will do.
    expect(matches("home-${uid}", { uid: "carol-x.y" }, "home-carol-x.y")).toBe(true);
  });

  it.each([
    ["an empty string", ""],
    ["a star", "*"],
    ["a value with a star", "carol*"],
    ["a value with a question mark", "c?rol"],
    ["upper case, which no lock name holds", "Carol"],
    ["a space", "car ol"],
    ["a value longer than any lock name", "c".repeat(254)],
    ["a non-integral number spelled with '+'", 1e21],
    ["an array", ["carol"]],
    ["an object", { id: "carol" }],
    ["null", null],
    ["an absent claim", undefined],
  ])("make the pattern match nothing for %s", (_, uid) => {
    const pattern = new LockPattern("home-${uid}-*");
    const claims = uid === undefined ? {} : { uid };
    expect(pattern.expandsFor(claims)).toBe(false);
    for (const name of ["home--1", "home-carol-1", "home-carol", "home-c", `home-${"c".repeat(254)}-1`]) {
      expect(pattern.matches(claims, name), name).toBe(false);
    }
  });

  it("require every placeholder's value to be usable", () => {
    const pattern = new LockPattern("org-${owner}.repo-${repo}-*");
    expect(pattern.matches({ owner: "acme", repo: "7" }, "org-acme.repo-7-x")).toBe(true);
    expect(pattern.matches({ owner: "acme" }, "org-acme.repo-7-x")).toBe(false);
    expect(pattern.matches({ owner: "ac.me", repo: "7" }, "org-ac.me.repo-7-x")).toBe(false);
  });
});

describe("the placeholder rule, checked when the configuration is loaded", () => {
  it.each([
    ["home-${uid}-*"],
    ["home-${uid}"],
    ["${uid}"],
    ["${sub}.*"],
    ["ci-${repository_id}-*"],
    ["org-${owner}.repo-${repo}-*"],
    ["${uid}--?*"],
    ["deploy-prod"],
    ["*"],
    ["team-?-*"],
  ])("accepts %s", (pattern) => {
    expect(lockPatternProblem(pattern)).toBeNull();
    expect(policyRuleSchema.safeParse({ match: {}, actions: ["read"], locks: [pattern] }).success).toBe(true);
  });

  it.each([
    ["ci-${team}*", "${team} must be followed by '-', '.' or the end of the pattern"],
    ["ci-${team}?-x", "${team} must be followed by '-', '.' or the end of the pattern"],
    ["ci-${team}x-*", "${team} must be followed by '-', '.' or the end of the pattern"],
    ["ci-${team}${env}-*", "${team} must be followed by '-', '.' or the end of the pattern"],
    ["*-${uid}", "'*' or '?' before ${uid}"],
    ["home-?-${uid}-*", "'*' or '?' before ${uid}"],
    ["home-${uid}-*-${env}", "'*' or '?' before ${env}"],
    ["home-${u id}-*", "'${' must begin a placeholder"],
    ["home-${uid-*", "'${' must begin a placeholder"],
    ["home-${}-*", "'${' must begin a placeholder"],
  ])("refuses %s, naming the rule", (pattern, message) => {
    expect(lockPatternProblem(pattern)).toContain(message);
    expect(() => new LockPattern(pattern)).toThrow(message);
    const parsed = policyRuleSchema.safeParse({ match: {}, actions: ["read"], locks: ["deploy-prod", pattern] });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues).toEqual([expect.objectContaining({ path: ["locks", 1], message: expect.stringContaining(message) })]);
  });
});

describe("the placeholder property", () => {
  // Lock-name characters, and the wildcards a value must never smuggle in.
  const valueCharacter = fc.constantFrom("a", "b", "0", "-", ".", "*", "?", "A");
  const claimValue: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 4, arbitrary: fc.array(valueCharacter, { maxLength: 5 }).map((chars) => chars.join("")) },
    { weight: 1, arbitrary: fc.integer({ min: -20, max: 200 }) },
    { weight: 1, arbitrary: fc.constantFrom(0.5, true, null, ["a"]) },
  );
  const claims = fc.record({ c: claimValue, d: claimValue });
  const pattern = fc
    .array(fc.constantFrom("a", "b", "-", ".", "-", ".", "*", "?", "${c}", "${c}", "${d}"), { minLength: 1, maxLength: 8 })
    .map((tokens) => tokens.join(""))
    .filter((p) => p.includes("${") && lockPatternProblem(p) === null);
  /** Lock names an expansion matches: its wildcards filled with lock-name characters. */
  const namesFrom = (p: string, values: Record<string, unknown>, fills: string[]) => {
    const expanded = p.replace(/\$\{(\w+)\}/g, (_, claim: string) => String(values[claim]));
    return fills.map((fill) => Array.from(expanded, (c, i) => (c === "*" ? fill.slice(0, i % (fill.length + 1)) : c === "?" ? (fill[0] ?? "a") : c)).join(""));
  };
  const fills = fc.array(fc.array(fc.constantFrom("a", "b", "0", "-", "."), { maxLength: 6 }).map((chars) => chars.join("")), { minLength: 1, maxLength: 6 });

  it("holds: two callers with different accepted values never match the same lock name", () => {
    fc.assert(
      fc.property(pattern, claims, claims, fills, (p, first, second, fill) => {
        const lockPattern = new LockPattern(p);
        const used = [...p.matchAll(/\$\{(\w+)\}/g)].map((found) => found[1]!);
        fc.pre(used.some((claim) => String(first[claim as "c"]) !== String(second[claim as "c"])));
        fc.pre(lockPattern.expandsFor(first) && lockPattern.expandsFor(second));
        for (const name of namesFrom(p, first, fill)) {
          expect(lockPattern.matches(first, name), name).toBe(true);
          expect(lockPattern.matches(second, name), `${name} matched for both ${JSON.stringify(first)} and ${JSON.stringify(second)}`).toBe(false);
        }
        for (const name of namesFrom(p, second, fill)) {
          expect(lockPattern.matches(second, name), name).toBe(true);
          expect(lockPattern.matches(first, name), `${name} matched for both ${JSON.stringify(first)} and ${JSON.stringify(second)}`).toBe(false);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
