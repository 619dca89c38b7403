import type { Action, PolicyRule } from "../config/schema.ts";
import type { Caller } from "./caller.ts";
import { Glob } from "./glob.ts";
import { claimDelimiters, LockPattern } from "./lock-pattern.ts";

interface CompiledRule {
  description?: string;
  match: Array<[claim: string, patterns: Glob[]]>;
  actions: Set<Action>;
  locks: LockPattern[];
}

/**
 * Default-deny authorization: a caller may do `action` on a lock when some rule matches all of
 * its listed claims and covers both the action and the lock name. Every pattern is compiled once,
 * here; a lock pattern that breaks the placeholder rule (see LockPattern) is refused.
 */
export class Policy {
  readonly #rules: CompiledRule[];

  constructor(rules: PolicyRule[]) {
    // Shares of different patterns must not overlap either: a claim's value may contain none of
    // the delimiters its placeholders have anywhere in the policy.
    const delimiters = claimDelimiters(rules.flatMap((rule) => rule.locks));
    this.#rules = rules.map((rule) => ({
      description: rule.description,
      match: Object.entries(rule.match).map(([claim, value]) => [claim, (Array.isArray(value) ? value : [value]).map((pattern) => new Glob(pattern))]),
      actions: new Set(rule.actions),
      locks: rule.locks.map((pattern) => new LockPattern(pattern, delimiters)),
    }));
  }

  allows(caller: Caller, action: Action, lockName: string): boolean {
    return this.#rules.some(
      (rule) => appliesTo(rule, caller, action) && rule.locks.some((pattern) => pattern.matches(caller.claims, lockName)),
    );
  }

  /**
   * Whether some rule could let this caller do `action` on some lock (to answer 403 before 404, or
   * before listing): a rule whose every lock pattern needs a claim the caller lacks or may not
   * have inserted lets it do nothing.
   */
  allowsAny(caller: Caller, action: Action): boolean {
    return this.#rules.some((rule) => appliesTo(rule, caller, action) && rule.locks.some((pattern) => pattern.expandsFor(caller.claims)));
  }
}

function appliesTo(rule: CompiledRule, caller: Caller, action: Action): boolean {
  return rule.actions.has(action) && rule.match.every(([claim, patterns]) => claimMatches(caller.claims[claim], patterns));
}

/** A claim matches when it, or one element of it if it is an array, is a scalar some pattern matches. */
function claimMatches(value: unknown, patterns: Glob[]): boolean {
  const values = Array.isArray(value) ? value : [value];
  return values.some((element) => isScalar(element) && patterns.some((pattern) => pattern.matches(String(element))));
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}
