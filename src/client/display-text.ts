import { UNPRINTABLE_CHARACTERS } from "../encoding/printable-text.ts";

/**
 * Text from the gateway (holder labels, subjects, metadata, problem details, lock names …) is
 * written by other callers, or by whatever answers at the gateway's URL. Printed as it is, it
 * could move the cursor, rewrite or fake lines, reorder what is displayed, or issue CI log
 * commands: a new line starting `::stop-commands::` in GitHub Actions stops the runner from
 * honouring the `::add-mask::` that hides the lock token. Everything the gateway sent goes
 * through `displayText` (or `displayJson`) before it is printed by the CLI or put into the
 * message of a client error, which ends up in logs.
 */

/** What the gateway refuses in labels, plus the line and paragraph separators. */
const ESCAPED = new RegExp(`[${UNPRINTABLE_CHARACTERS}\\u2028\\u2029]`, "gu");
/**
 * The legacy commands of the GitHub Actions runner (`##[add-mask]…`) are recognised anywhere in
 * a line, and so are Azure Pipelines' logging commands (`##vso[…]`): the first `#` is escaped.
 */
const MARKER_COMMAND = /#(?=#(?:\[|vso\[))/giu;
/** Workflow commands (`::name::value`) are recognised at the start of a line, after blanks. */
const LEADING_COMMAND = /^(\s*):(?=:)/u;

/**
 * `value` with every control, bidirectional-formatting and line-separator character shown as a
 * visible escape (`\x1b`, `\x85`, `\u{202e}`), and CI log command markers defused
 * (`\x23#[`, `\x3a:`). Ordinary text, non-ASCII included, is left as it is.
 */
export function displayText(value: unknown): string {
  return String(value)
    .replace(ESCAPED, (character) => visibleEscape(character.codePointAt(0)!))
    .replace(MARKER_COMMAND, "\\x23")
    .replace(LEADING_COMMAND, "$1\\x3a");
}

/**
 * `value` as indented JSON that means exactly the same, with the characters `displayText`
 * escapes written as `\uXXXX` JSON escapes (JSON.stringify leaves DEL, C1 and bidi controls raw).
 * No line of it can start with `::`: each starts with blanks and a bracket, brace or quote.
 */
export function displayJson(value: unknown): string {
  return (JSON.stringify(value, null, 2) ?? "null")
    .replace(ESCAPED, (character) =>
      // JSON.stringify escapes every C0 control in strings: a raw line feed is its own layout.
      character === "\n" ? character : `\\u${character.codePointAt(0)!.toString(16).padStart(4, "0")}`,
    )
    .replace(MARKER_COMMAND, "\\u0023");
}

function visibleEscape(codePoint: number): string {
  return codePoint <= 0xff ? `\\x${codePoint.toString(16).padStart(2, "0")}` : `\\u{${codePoint.toString(16)}}`;
}
