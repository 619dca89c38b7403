import type { JWTPayload } from "jose";
import type { Action, PolicyRule } from "../config/schema.ts";
import type { Caller } from "./caller.ts";
import { globToRegExp } from "./glob.ts";

interface CompiledRule {
  description?: string;
  match: Array<[claim: string, patterns: RegExp[]]>;
  actions: Set<Action>;
  locks: string[];
}

/**
 * Default-deny authorization: a caller may do `action` on a lock when some rule matches all of
 * its listed claims and covers both the action and the lock name.
 */
export class Policy {
  readonly #rules: CompiledRule[];

  constructor(rules: PolicyRule[]) {
    this.#rules = rules.map((rule) => ({
      description: rule.description,
      match: Object.entries(rule.match).map(([claim, value]) => [claim, (Array.isArray(value) ? value : [value]).map(globToRegExp)]),
      actions: new Set(rule.actions),
      locks: rule.locks,
    }));
  }

  allows(caller: Caller, action: Action, lockName: string): boolean {
    return this.#rules.some(
      (rule) =>
        rule.actions.has(action) &&
        rule.match.every(([claim, patterns]) => claimMatches(caller.claims[claim], patterns)) &&
        rule.locks.some((pattern) => lockPatternMatches(pattern, caller.claims, lockName)),
    );
  }

  /** Whether any rule could let this caller do `action` on some lock (to answer 403 before 404). */
  allowsAny(caller: Caller, action: Action): boolean {
    return this.#rules.some(
      (rule) => rule.actions.has(action) && rule.match.every(([claim, patterns]) => claimMatches(caller.claims[claim], patterns)),
    );
  }
}

function claimMatches(value: unknown, patterns: RegExp[]): boolean {
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => isScalar(v) && patterns.some((p) => p.test(String(v))));
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/**
 * `${claim}` inserts a claim's value literally. A claim that is absent, not a scalar, or that
 * would widen the pattern (contains `*` or `?`) makes the pattern match nothing.
 */
function lockPatternMatches(pattern: string, claims: JWTPayload, lockName: string): boolean {
  let failed = false;
  const expanded = pattern.replace(/\$\{([A-Za-z0-9_.:-]+)\}/g, (_, claim: string) => {
    const value = claims[claim];
    if (!isScalar(value) || /[*?]/.test(String(value))) {
      failed = true;
      return "";
    }
    return String(value);
  });
  return !failed && globToRegExp(expanded).test(lockName);
}
