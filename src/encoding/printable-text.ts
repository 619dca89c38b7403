/**
 * Characters a caller may not put in text that others are shown (holder labels, metadata):
 * C0 controls (tab and newline included), DEL and C1 controls, which terminals and CI log
 * parsers act on (new lines, escape sequences, workflow commands), and the bidirectional
 * formatting characters, which make text display in an order other than the one it has.
 * The CLI escapes the same characters in everything a gateway sends it, so this is the body of
 * a regular-expression character class rather than a RegExp, and this file imports nothing.
 */
export const UNPRINTABLE_CHARACTERS = "\\u0000-\\u001F\\u007F-\\u009F\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069";

const UNPRINTABLE = new RegExp(`[${UNPRINTABLE_CHARACTERS}]`, "u");

/** Why `text` may not be shown to others, or undefined when it may. */
export function unprintableTextProblem(text: string): string | undefined {
  const found = UNPRINTABLE.exec(text);
  if (!found) return undefined;
  const codePoint = `U+${found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
  return `must not contain control characters (tab and newline included) or bidirectional formatting characters (found ${codePoint})`;
}
