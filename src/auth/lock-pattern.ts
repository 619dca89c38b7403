import { Glob } from "./glob.ts";

/**
 * A lock pattern of a policy rule: a glob in which `${claim}` inserts the caller's claim value,
 * e.g. `home-${uid}-*` or `ci-${repository_id}-*`.
 *
 * A placeholder gives every caller a share of the lock names, and shares must not overlap: for two
 * different claim values, no lock name may be matched by both expansions, else one caller could
 * take another's locks (`home-${uid}-*` matches `home-carol-x-1` for uid `carol`, and would for uid
 * `carol-x` too). The rule that guarantees this:
 *
 * - in the pattern, only fixed text (and earlier placeholders) may precede a placeholder: no `*`
 *   or `?` before it;
 * - a placeholder is followed by `-` or `.` (its delimiter) or ends the pattern;
 * - a claim value is inserted only if it is a string, number or boolean whose text is non-empty,
 *   at most 253 characters of `a-z 0-9 - .` (what a lock name may hold; so never `*` or `?`) and
 *   does not contain its placeholder's delimiter. Otherwise the pattern matches nothing for that
 *   caller.
 *
 * - across a policy, a claim's value must not contain the delimiter of any placeholder of that
 *   claim in any pattern (`home-${uid}` beside `home-${uid}-*` refuses uids with `-`), or one
 *   pattern's share could overlap another's.
 *
 * Why it suffices: a lock name matched by an expansion starts with the fixed text, then the value,
 * then the delimiter; the value holds no delimiter, so the first delimiter after the fixed text
 * marks where the value ends, and the name alone determines the value. A placeholder at the end
 * makes the value the rest of the name. With several placeholders the same holds one after the
 * other, left to right.
 */
export class LockPattern {
  /** Everything up to the end of the last placeholder: fixed text and placeholders, no wildcard. */
  readonly #head: Array<Literal | Placeholder>;
  /** Everything after the last placeholder (the whole pattern when there is none). */
  readonly #tail: Glob;
  /** Per claim, the characters its value may not contain: its delimiters across the whole policy. */
  readonly #forbidden: ReadonlyMap<string, ReadonlySet<string>>;

  /** `policyDelimiters`: every placeholder delimiter of the policy this pattern belongs to (see claimDelimiters). */
  constructor(pattern: string, policyDelimiters?: ReadonlyMap<string, ReadonlySet<string>>) {
    const problem = lockPatternProblem(pattern);
    if (problem !== null) throw new Error(`lock pattern ${JSON.stringify(pattern)}: ${problem}`);
    this.#head = [];
    let position = 0;
    for (const found of pattern.matchAll(PLACEHOLDER)) {
      if (found.index > position) this.#head.push({ text: pattern.slice(position, found.index) });
      position = found.index + found[0].length;
      this.#head.push({ claim: found[1]! });
    }
    this.#tail = new Glob(pattern.slice(position));
    this.#forbidden = policyDelimiters ?? claimDelimiters([pattern]);
  }

  /** Whether the caller's claims give every placeholder a value that may be inserted, so the pattern can match some name. */
  expandsFor(claims: Readonly<Record<string, unknown>>): boolean {
    return this.#expandedHead(claims) !== null;
  }

  matches(claims: Readonly<Record<string, unknown>>, lockName: string): boolean {
    const head = this.#expandedHead(claims);
    return head !== null && lockName.startsWith(head) && this.#tail.matches(lockName.slice(head.length));
  }

  #expandedHead(claims: Readonly<Record<string, unknown>>): string | null {
    let head = "";
    for (const part of this.#head) {
      if ("text" in part) {
        head += part.text;
        continue;
      }
      const value = insertableValue(claims[part.claim], this.#forbidden.get(part.claim));
      if (value === null) return null;
      head += value;
    }
    return head;
  }
}

/** Per claim, the delimiters that follow its placeholders anywhere in `patterns`. */
export function claimDelimiters(patterns: string[]): Map<string, Set<string>> {
  const delimiters = new Map<string, Set<string>>();
  for (const pattern of patterns) {
    for (const found of pattern.matchAll(PLACEHOLDER)) {
      const claim = found[1]!;
      const next = pattern[found.index + found[0].length];
      const forClaim = delimiters.get(claim) ?? new Set<string>();
      if (next !== undefined) forClaim.add(next);
      delimiters.set(claim, forClaim);
    }
  }
  return delimiters;
}

/** Why a pattern breaks the placeholder rule (see LockPattern), or null when it keeps it. */
export function lockPatternProblem(pattern: string): string | null {
  const placeholders = [...pattern.matchAll(PLACEHOLDER)];
  const starts = new Set(placeholders.map((found) => found.index));
  for (let index = pattern.indexOf("${"); index >= 0; index = pattern.indexOf("${", index + 1)) {
    if (!starts.has(index)) return "'${' must begin a placeholder '${claim}' whose claim name has only letters, digits, '_', '.', ':' and '-'";
  }
  for (const found of placeholders) {
    const placeholder = found[0];
    if (/[*?]/.test(pattern.slice(0, found.index))) {
      return `'*' or '?' before ${placeholder} would let one claim value match the locks of another: only fixed text may precede a placeholder`;
    }
    const next = pattern[found.index + placeholder.length];
    if (next !== undefined && !DELIMITERS.includes(next)) {
      return `${placeholder} must be followed by '-', '.' or the end of the pattern (a value may not contain the character that follows it), so that one claim value cannot match the locks of another`;
    }
  }
  return null;
}

interface Literal {
  text: string;
}

interface Placeholder {
  claim: string;
}

const PLACEHOLDER = /\$\{([A-Za-z0-9_.:-]+)\}/g;
const DELIMITERS = ["-", "."];
/** Characters a lock name (a DNS-1123 subdomain) may hold, and its length limit. */
const LOCK_NAME_CHARACTERS = /^[a-z0-9.-]+$/;
const LOCK_NAME_MAX_LENGTH = 253;

function insertableValue(value: unknown, forbidden: ReadonlySet<string> | undefined): string | null {
  if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") return null;
  const text = String(value);
  if (text.length === 0 || text.length > LOCK_NAME_MAX_LENGTH || !LOCK_NAME_CHARACTERS.test(text)) return null;
  for (const delimiter of forbidden ?? []) if (text.includes(delimiter)) return null;
  return text;
}
