import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Caller } from "../../src/auth/caller.ts";
import { Policy } from "../../src/auth/policy.ts";
import { configSchema, type PolicyRule, policyRuleSchema } from "../../src/config/schema.ts";

const GITHUB = "https://token.actions.githubusercontent.com";
const caller = (claims: Record<string, unknown>): Caller => ({ issuer: String(claims.iss ?? "https://issuer.example"), subject: String(claims.sub ?? "someone"), claims });
const policyOf = (...rules: unknown[]) => new Policy(rules.map((rule) => policyRuleSchema.parse(rule)));

describe("a policy", () => {
  const policy = policyOf(
    { match: { sub: "team-a:*" }, actions: ["acquire", "renew", "release", "read"], locks: ["team-a-*", "shared"] },
    { match: { sub: "ops", groups: "admins" }, actions: ["admin", "read"], locks: ["*"] },
    { match: { sub: "user:*" }, actions: ["acquire", "read"], locks: ["home-${uid}-*"] },
  );

  it("denies everything when empty", () => {
    const empty = new Policy([]);
    expect(empty.allows(caller({ sub: "ops" }), "read", "x")).toBe(false);
    expect(empty.allowsAny(caller({ sub: "ops" }), "read")).toBe(false);
  });

  it("allows an action on a lock when one rule matches every listed claim and covers both", () => {
    const alice = caller({ sub: "team-a:alice" });
    expect(policy.allows(alice, "acquire", "team-a-deploy")).toBe(true);
    expect(policy.allows(alice, "read", "shared")).toBe(true);
    expect(policy.allows(alice, "acquire", "team-b-deploy")).toBe(false);
    expect(policy.allows(alice, "admin", "team-a-deploy")).toBe(false);
  });

  it("matches a claim that is an array when one of its elements matches, and nothing else", () => {
    expect(policy.allows(caller({ sub: "ops", groups: ["oncall", "admins"] }), "admin", "x")).toBe(true);
    expect(policy.allows(caller({ sub: "ops", groups: "admins" }), "admin", "x")).toBe(true);
    for (const groups of [["users"], undefined, { admins: true }, [["admins"]], "admins-2"]) {
      expect(policy.allows(caller({ sub: "ops", groups }), "admin", "x"), JSON.stringify(groups)).toBe(false);
    }
  });

  it("compares numbers and booleans by their text", () => {
    const numeric = policyOf({ match: { repository_id: "42", protected: "true" }, actions: ["read"], locks: ["*"] });
    expect(numeric.allows(caller({ repository_id: 42, protected: true }), "read", "x")).toBe(true);
    expect(numeric.allows(caller({ repository_id: 43, protected: true }), "read", "x")).toBe(false);
  });

  it("says whether any rule could allow an action, for 403 before 404 and before listing", () => {
    expect(policy.allowsAny(caller({ sub: "team-a:alice" }), "read")).toBe(true);
    expect(policy.allowsAny(caller({ sub: "team-a:alice" }), "admin")).toBe(false);
    expect(policy.allowsAny(caller({ sub: "contractor" }), "read")).toBe(false);
    expect(policy.allowsAny(caller({ sub: "user:carol", uid: "carol" }), "read")).toBe(true);
    // A rule whose every lock pattern needs a claim the caller lacks, or may not have inserted, allows nothing.
    expect(policy.allowsAny(caller({ sub: "user:carol" }), "read")).toBe(false);
    expect(policy.allowsAny(caller({ sub: "user:carol", uid: "carol-x" }), "read")).toBe(false);
    expect(policy.allowsAny(caller({ sub: "user:carol", uid: "" }), "read")).toBe(false);
  });

  it("keeps each uid to its own locks", () => {
    const carol = caller({ sub: "user:carol", uid: "carol" });
    expect(policy.allows(carol, "acquire", "home-carol-1")).toBe(true);
    expect(policy.allows(carol, "acquire", "home-dave-1")).toBe(false);
    // carol-x would share home-carol-x-* with carol: such a value inserts nothing.
    expect(policy.allows(caller({ sub: "user:x", uid: "carol-x" }), "acquire", "home-carol-x-1")).toBe(false);
    for (const uid of ["*", "carol*", "c?rol", "", ["carol"], { id: "carol" }, null]) {
      expect(policy.allows(caller({ sub: "user:x", uid }), "acquire", "home-carol-1"), JSON.stringify(uid)).toBe(false);
    }
  });

  it("keeps shares apart across patterns too: a value may contain no delimiter its claim has anywhere in the policy", () => {
    const shared = policyOf(
      { match: { sub: "user:*" }, actions: ["acquire"], locks: ["home-${uid}"] },
      { match: { sub: "user:*" }, actions: ["acquire"], locks: ["home-${uid}-*"] },
      { match: { sub: "svc:*" }, actions: ["acquire"], locks: ["${name}.*", "${name}-*"] },
    );
    const alice = caller({ sub: "user:alice", uid: "alice" });
    expect(shared.allows(alice, "acquire", "home-alice")).toBe(true);
    expect(shared.allows(alice, "acquire", "home-alice-x")).toBe(true);
    // uid alice-x alone would own home-alice-x through the first pattern, which alice owns through the second.
    expect(shared.allows(caller({ sub: "user:ax", uid: "alice-x" }), "acquire", "home-alice-x")).toBe(false);
    expect(shared.allows(caller({ sub: "svc:a", name: "a" }), "acquire", "a.b-c")).toBe(true);
    expect(shared.allows(caller({ sub: "svc:ab", name: "a.b" }), "acquire", "a.b-c")).toBe(false);
  });

  it("refuses to be built from a lock pattern that breaks the placeholder rule", () => {
    const rule: PolicyRule = { match: {}, actions: ["read"], locks: ["ci-${team}*"] };
    expect(() => new Policy([rule])).toThrow("${team} must be followed by '-', '.' or the end of the pattern");
  });
});

describe("the documented policies", () => {
  const docsExample = () => {
    const markdown = readFileSync(new URL("../../docs/cli.md", import.meta.url), "utf8");
    const blocks = [...markdown.matchAll(/```json\n([\s\S]*?)```/g)].map((found) => found[1]!);
    const block = blocks.find((text) => text.includes('"policy"') && text.includes(GITHUB));
    if (!block) throw new Error("docs/cli.md has no gateway configuration example for GitHub's issuer");
    return configSchema.parse(JSON.parse(block));
  };
  const production = { iss: GITHUB, repository_owner_id: "987654", repository_id: "123456789", environment: "production", sub: "repo:org/app:environment:production" };

  it("docs/cli.md: the production environment of org/app may acquire, renew, release and read deploy-prod, and nothing else", () => {
    const policy = new Policy(docsExample().policy);
    const job = caller(production);
    for (const action of ["acquire", "renew", "release", "read"] as const) expect(policy.allows(job, action, "deploy-prod"), action).toBe(true);
    expect(policy.allows(job, "admin", "deploy-prod")).toBe(false);
    expect(policy.allows(job, "acquire", "deploy-staging")).toBe(false);
    expect(policy.allowsAny(job, "read")).toBe(true);
    expect(policy.allowsAny(job, "admin")).toBe(false);
  });

  it("docs/cli.md: a job of the same repository without the environment, or another repository, gets nothing", () => {
    const policy = new Policy(docsExample().policy);
    const { environment: _environment, ...withoutEnvironment } = production;
    for (const claims of [withoutEnvironment, { ...production, environment: "staging" }, { ...production, repository_id: "123456780" }, { ...production, iss: "https://gitlab.com" }]) {
      expect(policy.allows(caller(claims), "acquire", "deploy-prod"), JSON.stringify(claims)).toBe(false);
      expect(policy.allowsAny(caller(claims), "read"), JSON.stringify(claims)).toBe(false);
    }
  });
});
